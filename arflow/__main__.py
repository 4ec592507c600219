from arflow.cli import main

main()

"""SMS over Twilio's REST API (the `sms` extra). `base_url` points it at a Twilio-compatible
gateway, or at a loopback server in tests.

Error mapping (SPEC 6): 21211/21614 (not a valid or not a mobile number), 21610 (the recipient
replied STOP) and other 4xx are permanent; 20429/HTTP 429 (too many requests) is transient;
connection refused is transient (nothing was handed over); 5xx and read timeouts are `unknown`
(Twilio may have queued the message).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from arflow.channels.http import status_outcome
from arflow.channels.message import Message, Outcome
from arflow.config import SmsChannel
from arflow.errors import ArflowError
from arflow.phones import e164
from arflow.secrets import secret

TRANSIENT_CODES = frozenset({20429})
_QUIET = logging.getLogger("arflow.twilio")
_QUIET.setLevel(logging.WARNING)  # the client logs every request at INFO


class TwilioChannel:
    def __init__(self, cfg: SmsChannel, region: str | None):
        self.cfg = cfg
        self.region = region
        self.name = "sms:twilio"
        self.client: Any = None  # twilio.rest.Client once opened

    def open(self) -> None:
        try:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client
        except ImportError:
            raise ArflowError(
                "channels.sms uses transport twilio, but the twilio package is "
                "not installed: pip install twilio (or pip install -e '.[sms]' in "
                "arflow's folder). Nothing was sent."
            ) from None
        # the config's validator makes both names present for transport twilio
        sid = secret(self.cfg.account_sid_env or "", "Twilio account SID")
        token = secret(self.cfg.auth_token_env or "", "Twilio auth token")
        self.client = Client(
            sid, token, http_client=TwilioHttpClient(timeout=self.cfg.timeout, logger=_QUIET)
        )
        if self.cfg.base_url:
            self.client.api.base_url = self.cfg.base_url.rstrip("/")

    def close(self) -> None:
        if self.client is not None:
            session = getattr(self.client.http_client, "session", None)
            if session is not None:
                session.close()

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
        import requests
        from twilio.base.exceptions import TwilioRestException

        ready()
        to = e164(message.to[0], self.region)
        if to is None:
            return Outcome(
                "failed", permanent=True, error=f"{message.to[0]!r} is not a valid phone number"
            )
        try:
            sent = self.client.messages.create(to=to, from_=self.cfg.sender, body=message.body)
        except TwilioRestException as exc:
            detail = (
                f"Twilio {exc.status}" + (f" error {exc.code}" if exc.code else "") + f": {exc.msg}"
            )
            return status_outcome(exc.status, detail, retry=exc.code in TRANSIENT_CODES)
        except requests.exceptions.ConnectTimeout as exc:
            return Outcome("failed", error=f"cannot connect to Twilio: {exc}")
        except requests.exceptions.ConnectionError as exc:
            refused = "NewConnectionError" in repr(exc) or "Connection refused" in str(exc)
            if refused:
                return Outcome("failed", error=f"cannot connect to Twilio: {exc}")
            return Outcome("unknown", error=f"connection to Twilio lost: {exc}")
        except requests.exceptions.RequestException as exc:
            return Outcome("unknown", error=f"no answer from Twilio: {exc}")
        return Outcome("sent", provider_id=sent.sid)

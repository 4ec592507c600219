"""SMS over Twilio's REST API (the `sms` extra). `base_url` points it at a Twilio-compatible
gateway, or at a loopback server in tests.

Error mapping (SPEC 6): 21211/21614 (not a valid or not a mobile number), 21610 (the recipient
replied STOP) and other 4xx are permanent; 20429/HTTP 429 (too many requests) is transient;
connection refused is transient (nothing was handed over); 5xx and read timeouts are `unknown`
(Twilio may have queued the message).

The client speaks HTTP through `arflow.deadline.request` (not `requests`): each message's
request and its answer keep one deadline from `channels.sms.timeout`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from arflow.channels.http import status_outcome
from arflow.channels.message import Message, Outcome
from arflow.config import SmsChannel
from arflow.deadline import NoAnswer, Unreached, request
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
        self.client = Client(sid, token, http_client=_http_client(self.cfg.timeout))
        if self.cfg.base_url:
            self.client.api.base_url = self.cfg.base_url.rstrip("/")

    def close(self) -> None:
        pass  # each request has its own connection

    def send(
        self,
        message: Message,
        ready: Callable[[], None],
        meanwhile: Callable[[], None] | None = None,
    ) -> Outcome:
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
        except Unreached as exc:  # nothing was handed over
            return Outcome("failed", error=f"cannot connect to Twilio: {exc}")
        except NoAnswer as exc:  # Twilio may have queued it
            return Outcome("unknown", error=f"no answer from Twilio: {exc}")
        return Outcome("sent", provider_id=sent.sid)


def _http_client(timeout: float) -> Any:
    """The Twilio client's HTTP, over `arflow.deadline.request`."""
    from twilio.http import HttpClient
    from twilio.http.response import Response

    class DeadlineClient(HttpClient):
        def request(
            self,
            method: str,
            url: str,
            params: dict | None = None,
            data: dict | None = None,
            headers: dict | None = None,
            auth: tuple[str, str] | None = None,
            timeout: float | None = None,
            allow_redirects: bool = False,
        ) -> Response:
            headers = dict(headers or {})
            if params:
                url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
            if headers.get("Content-Type", "").endswith("json"):
                body = json.dumps(data or {}).encode()
            else:
                body = urlencode(data or {}, doseq=True).encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            if auth:
                pair = f"{auth[0]}:{auth[1]}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
            answer = request(url, body, headers, timeout or self.timeout, method=method)
            return Response(answer.status, answer.body.decode("utf-8", "replace"), answer.headers)

    return DeadlineClient(_QUIET, False, timeout)

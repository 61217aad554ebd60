"""Signatures of the simulated OSS, as OSS makes them (base64 HMAC-SHA1), keyed by the state's random secret
(``Store.secret``: shared by every worker, never derived from ``--seed``): upload policies, and result links
(``?Expires=…&OSSAccessKeyId=…&Signature=…``, unguessable, refused when tampered with or expired)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlencode

__all__ = ["ACCESS_KEY_ID", "sign", "signed_result_url", "valid_result_signature", "valid_signature"]

ACCESS_KEY_ID = "LTAI5tMockAccessKeyId"  # what the service's policies and links name; the mock's is not secret


def sign(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def valid_signature(secret: str, text: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, text).encode(), signature.encode())


def _result_text(task_id: str, expires: int) -> str:
    return f"GET\n\n\n{expires}\n/results/{task_id}.mp4"  # OSS's string-to-sign shape for a presigned GET


def signed_result_url(base_url: str, secret: str, task_id: str, expires: int) -> str:
    query = urlencode(
        {"Expires": expires, "OSSAccessKeyId": ACCESS_KEY_ID, "Signature": sign(secret, _result_text(task_id, expires))}
    )
    return f"{base_url.rstrip('/')}/_mock/results/{task_id}.mp4?{query}"


def valid_result_signature(secret: str, task_id: str, expires: int, signature: str) -> bool:
    return valid_signature(secret, _result_text(task_id, expires), signature)

"""The OpenAI chat-completions subset the server speaks: request parsing and response shapes.

Stdlib only. Supported request fields: model, messages (content as a string or a list of `text` and
`image_url` parts, images as base64 `data:` URLs, several per request for multi-page documents),
max_tokens / max_completion_tokens, temperature, top_p, seed, n (1 only), stream,
stream_options.include_usage. Other fields (stop, logprobs, response_format, ...) are ignored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

__all__ = ["APIError", "ChatRequest", "Message", "Part", "parse_chat_request"]

ROLES = {"system", "developer", "user", "assistant"}


class APIError(Exception):
    """An error answered to the client as OpenAI's {"error": {...}} with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def bad_request(message: str, param: str | None = None) -> APIError:
    return APIError(400, message, param=param)


@dataclass(frozen=True)
class Part:
    """A text part, or a reference to request.images[image]."""

    kind: str  # "text" | "image"
    text: str = ""
    image: int = -1


@dataclass(frozen=True)
class Message:
    role: str  # "developer" arrives as "system"
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if p.kind == "text")


@dataclass
class ChatRequest:
    model: str
    messages: list[Message]
    images: list[bytes]  # encoded image files, in order of appearance
    max_tokens: int | None = None
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    stream: bool = False
    include_usage: bool = False


def parse_chat_request(body: Any, served_model_name: str) -> ChatRequest:
    """Validate a decoded JSON body; every problem is an APIError naming the offending field."""
    if not isinstance(body, dict):
        raise bad_request(f"request body must be a JSON object, got {type(body).__name__}")
    model = body.get("model", served_model_name)
    if not isinstance(model, str):
        raise bad_request("model must be a string", "model")
    if model != served_model_name:
        raise APIError(
            404,
            f"model {model!r} does not exist; this server serves {served_model_name!r}",
            type="NotFoundError",
            param="model",
            code="model_not_found",
        )

    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise bad_request("messages must be a non-empty list", "messages")
    images: list[bytes] = []
    messages = [_parse_message(m, i, images) for i, m in enumerate(raw_messages)]

    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 1):
        raise bad_request(f"max_tokens must be a positive integer, got {max_tokens!r}", "max_tokens")
    temperature = body.get("temperature")
    temperature = 0.0 if temperature is None else temperature
    if not _is_number(temperature) or not 0 <= temperature <= 2:
        raise bad_request(f"temperature must be a number in [0, 2], got {temperature!r}", "temperature")
    top_p = body.get("top_p")
    if top_p is not None and (not _is_number(top_p) or not 0 < top_p <= 1):
        raise bad_request(f"top_p must be a number in (0, 1], got {top_p!r}", "top_p")
    seed = body.get("seed")
    if seed is not None and not _is_int(seed):
        raise bad_request(f"seed must be an integer, got {seed!r}", "seed")
    n = body.get("n")
    if n not in (None, 1):
        raise bad_request(f"n must be 1 (one answer per request), got {n!r}", "n")
    stream = body.get("stream")
    stream = False if stream is None else stream
    if not isinstance(stream, bool):
        raise bad_request(f"stream must be a boolean, got {stream!r}", "stream")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise bad_request("stream_options must be an object", "stream_options")
    include_usage = options.get("include_usage", False)
    if not isinstance(include_usage, bool):
        raise bad_request("stream_options.include_usage must be a boolean", "stream_options")

    return ChatRequest(
        model=model,
        messages=messages,
        images=images,
        max_tokens=max_tokens,
        temperature=float(temperature),
        top_p=None if top_p is None else float(top_p),
        seed=seed,
        stream=stream,
        include_usage=include_usage,
    )


def _parse_message(raw: Any, index: int, images: list[bytes]) -> Message:
    where = f"messages[{index}]"
    if not isinstance(raw, dict):
        raise bad_request(f"{where} must be an object", where)
    role = raw.get("role")
    if role not in ROLES:
        raise bad_request(f"{where}.role must be one of {sorted(ROLES)}, got {role!r}", f"{where}.role")
    content = raw.get("content")
    if isinstance(content, str):
        parts = (Part("text", text=content),)
    elif isinstance(content, list):
        parts = tuple(_parse_part(p, f"{where}.content[{j}]", images) for j, p in enumerate(content))
    elif content is None and role == "assistant":
        parts = ()
    else:
        raise bad_request(f"{where}.content must be a string or a list of parts", f"{where}.content")
    return Message("system" if role == "developer" else role, parts)


def _parse_part(raw: Any, where: str, images: list[bytes]) -> Part:
    if not isinstance(raw, dict):
        raise bad_request(f"{where} must be an object", where)
    kind = raw.get("type")
    if kind == "text":
        text = raw.get("text")
        if not isinstance(text, str):
            raise bad_request(f"{where}.text must be a string", where)
        return Part("text", text=text)
    if kind == "image_url":
        spec = raw.get("image_url")
        url = spec.get("url") if isinstance(spec, dict) else spec
        if not isinstance(url, str):
            raise bad_request(f"{where}.image_url.url must be a string", where)
        images.append(decode_data_url(url, where))
        return Part("image", image=len(images) - 1)
    raise bad_request(f"{where}.type must be 'text' or 'image_url', got {kind!r}", where)


def decode_data_url(url: str, where: str) -> bytes:
    """The bytes of a `data:<mime>;base64,<payload>` URL; the server fetches nothing from a network."""
    if not url.startswith("data:"):
        raise bad_request(f"{where}: only base64 data: URLs are supported, got {url[:40]!r}", where)
    header, sep, payload = url.partition(",")
    if not sep or not header.endswith(";base64"):
        raise bad_request(f"{where}: data URL must be 'data:<mime>;base64,<payload>'", where)
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise bad_request(f"{where}: invalid base64 in data URL ({e})", where) from None
    if not data:
        raise bad_request(f"{where}: empty image", where)
    return data


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    request_id: str, created: int, model: str, text: str, finish_reason: str, usage_: dict[str, int]
) -> dict[str, Any]:
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": usage_,
    }


def chunk(
    request_id: str,
    created: int,
    model: str,
    *,
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage_: dict[str, int] | None = None,
    with_usage_field: bool = False,
) -> dict[str, Any]:
    """A chat.completion.chunk; the usage chunk (usage_ given) has no choices, as in OpenAI's API."""
    body: dict[str, Any] = {
        "id": request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }
    if usage_ is not None:
        body["choices"] = []
        body["usage"] = usage_
        return body
    body["choices"] = [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason}]
    if with_usage_field:
        body["usage"] = None
    return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)

"""``/v1/keys``: API keys, for ``admin`` keys only (and the open local API) — the web chat's
workspace panel manages keys with these, as ``mara keys create|list|revoke`` does.

The key itself is in the ``POST`` answer only (it is stored as a salted hash); lists never carry
it. Creating the first key ends open mode for good: from then on every ``/v1`` request needs a
key, the web chat's included. Revoking a key ends its web sessions at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.auth import Auth, get_auth, require
from api.errors import AUTH_RESPONSES, ERROR_RESPONSES, ApiError
from api.models import ErrorResponse
from assistant.keys import SCOPES, KeyInfo, KeyInputError, KeyNotFoundError

router = APIRouter(prefix="/v1/keys", tags=["keys"], dependencies=[require("admin")])


class KeyModel(BaseModel):
    """A key as listed (never the key itself)."""

    id: str
    name: str
    scopes: list[str]
    created: str
    last_used: str | None = None
    revoked: str | None = None
    active: bool


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="Unique: letters, digits, _ . @ -")
    scopes: list[str] = Field(
        default_factory=list, max_length=len(SCOPES),
        description=f"Any of {', '.join(SCOPES)} (default: chat, copy, data:read).",
    )


class KeyCreated(KeyModel):
    key: str = Field(description="The key: shown this once, not stored.")


def _model(info: KeyInfo) -> KeyModel:
    return KeyModel.model_validate(info.to_dict())


@router.get("", response_model=list[KeyModel], summary="List API keys", responses={**AUTH_RESPONSES, **ERROR_RESPONSES})
async def list_keys(auth: Auth = Depends(get_auth)) -> list[KeyModel]:
    """Every key, revoked ones included, oldest first."""
    return [_model(k) for k in await run_in_threadpool(auth.keys.list)]


@router.post(
    "",
    response_model=KeyCreated,
    status_code=201,
    summary="Create an API key",
    responses={422: {"model": ErrorResponse, "description": "Invalid or taken name, unknown scope."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def create_key(body: KeyCreate, auth: Auth = Depends(get_auth)) -> KeyCreated:
    """Create a key; the answer is the only place the key appears."""
    try:
        info, key = await run_in_threadpool(auth.keys.create, body.name, body.scopes)
    except KeyInputError as err:
        raise ApiError(422, "invalid_key_request", str(err)) from None
    return KeyCreated(**_model(info).model_dump(), key=key)


@router.delete(
    "/{key_id}",
    response_model=KeyModel,
    summary="Revoke an API key",
    responses={404: {"model": ErrorResponse, "description": "No such key."}, **AUTH_RESPONSES, **ERROR_RESPONSES},
)
async def revoke_key(key_id: str, auth: Auth = Depends(get_auth)) -> KeyModel:
    """Revoke by id or name (idempotent): requests and sessions with it get 401 from now on."""
    try:
        info = await run_in_threadpool(auth.keys.revoke, key_id[:80])
    except KeyNotFoundError as err:
        raise ApiError(404, "unknown_key", str(err)) from None
    return _model(info)

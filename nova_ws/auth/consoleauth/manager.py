"""The console token authority: issue, validate-and-consume, revoke.

A token is 256 random bits (URL-safe text); only its SHA-256 is stored, with
the instance, console type, target host and port, the user who asked and an
expiry ``[consoleauth] token_ttl`` seconds away. Tokens are single-use unless
``[consoleauth] multi_use`` is set: the first validation consumes the token
in one conditional UPDATE, so of two racing connects exactly one wins.

Every validation also asks the instance's compute host, at that moment,
where the console listens, and refuses the token when the answer differs
from what the token was bound to (Nova's CVE-2013-0335 lesson: a token must
not follow a port that now belongs to another guest). The guest's VNC
password comes from that answer and goes only to the proxy.

When an instance is deleted, stopped, suspended, errs or starts to move, its
tokens are deleted and the revocation is published so proxies close the live
sessions those tokens opened.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from autobahn.wamp.exception import ApplicationError
from twisted.logger import Logger

from nova_ws.auth.consoleauth import rpcapi
from nova_ws.compute import states
from nova_ws.compute.rpcapi import ComputeAPI
from nova_ws.config import ConsoleAuthSection
from nova_ws.db.engine import Database
from nova_ws.db.errors import NotFound
from nova_ws.db.queries import console_tokens, instances

log = Logger()

#: vm_state or task_state -> why the instance's consoles end (None: they stay).
_REASONS = {
    states.DELETED: "instance deleted", states.DELETING: "instance deleted",
    "soft-delete": "instance deleted",
    states.STOPPED: "instance stopped", states.POWERING_OFF: "instance stopped",
    states.SUSPENDED: "instance suspended", states.SUSPENDING: "instance suspended",
    "shelved": "instance shelved", "shelved_offloaded": "instance shelved",
    "shelving": "instance shelved",
    states.ERROR: "instance in error",
    "migrating": "instance moved", "resize_prep": "instance moved",
    "resize_migrating": "instance moved", "resized": "instance moved",
    states.REBUILDING: "instance rebuilt", states.REBUILD_SPAWNING: "instance rebuilt",
    "rescuing": "instance rescued",
}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _invalid(reason: str, status: int = 401) -> ApplicationError:
    return ApplicationError(rpcapi.TOKEN_INVALID, reason, status=status)


def revocation_reason(view: dict[str, Any]) -> str | None:
    """Why an instance event ends the instance's consoles, or None when it does not.

    The reasons match those the conductor revokes with before an action
    (``instance deleted``, ``instance stopped``...), whichever comes first.
    """
    return _REASONS.get(str(view.get("task_state"))) or _REASONS.get(str(view.get("vm_state")))


class ConsoleAuthManager:
    """Console tokens over a ``Database``; compute hosts asked through ``caller``.

    ``publish(topic, payload)`` announces revocations. ``now`` returns the
    current UTC time (tests may pass a fixed clock).
    """

    def __init__(
        self,
        db: Database,
        caller: Any,
        publish: Callable[..., None],
        config: ConsoleAuthSection,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.compute = ComputeAPI(caller)
        self.publish = publish
        self.config = config
        self._now = now or (lambda: datetime.now(UTC))

    def procedures(self) -> dict[str, Callable[..., Any]]:
        """The WAMP procedures this manager answers, by URI."""
        return {rpcapi.AUTHORIZE: self.authorize, rpcapi.VALIDATE: self.validate,
                rpcapi.REVOKE: self.revoke}

    async def _endpoint(self, instance_uuid: str, console_type: str) -> tuple[Any, dict[str, Any]]:
        """The instance (live, on a host) and where its console listens now."""
        kind = rpcapi.DRIVER_KINDS.get(console_type)
        if kind is None:
            raise ApplicationError(rpcapi.CONSOLE_UNAVAILABLE,
                                   f"unknown console type {console_type!r}")
        try:
            inst = await self.db.run(instances.get_instance, instance_uuid)
        except NotFound as exc:
            raise ApplicationError(rpcapi.CONSOLE_UNAVAILABLE,
                                   f"instance {instance_uuid} not found") from exc
        if inst.host is None or inst.vm_state != states.ACTIVE:
            raise ApplicationError(rpcapi.CONSOLE_UNAVAILABLE,
                                   f"instance {instance_uuid} is {inst.vm_state}, not active")
        try:
            endpoint = await self.compute.get_console(inst.host, instance_uuid, kind)
        except ApplicationError as exc:
            detail = exc.args[0] if exc.args else exc.error
            raise ApplicationError(rpcapi.CONSOLE_UNAVAILABLE,
                                   f"instance {instance_uuid}: {detail}") from exc
        return inst, endpoint

    async def authorize(self, instance_uuid: str, console_type: str, *, user_id: str,
                        project_id: str, view_only: bool = False) -> dict[str, Any]:
        """Issue a token for the instance's ``console_type`` console.

        The caller (nova-api) has already checked that the user may see the
        instance. Fails with ``CONSOLE_UNAVAILABLE`` when the instance is not
        active or has no such console.
        """
        inst, endpoint = await self._endpoint(instance_uuid, console_type)
        token = secrets.token_urlsafe(32)
        expires = self._now() + timedelta(seconds=self.config.token_ttl)
        await self.db.run(
            console_tokens.create_console_token, token=token, instance_uuid=inst.uuid,
            console_type=console_type, host=str(endpoint["host"]), port=int(endpoint["port"]),
            expires=expires, user_id=user_id, project_id=project_id, view_only=view_only,
            multi_use=self.config.multi_use, now=self._now())
        log.info("console token issued for {instance} ({console_type}) to user {user}",
                 instance=instance_uuid, console_type=console_type, user=user_id)
        return {"token": token, "expires": expires.isoformat(), "console_type": console_type,
                "instance_uuid": instance_uuid, "ttl": self.config.token_ttl}

    async def validate(self, token: str, console_type: str) -> dict[str, Any]:
        """Check and consume ``token`` for a ``console_type`` console.

        Returns the target: ``instance_uuid, console_type, host, port, tls,
        password, expires_in`` (seconds left), ``token_id, user_id,
        project_id, view_only``. Fails with ``TOKEN_INVALID`` (kwarg
        ``status``: 401 unknown, 403 known but not usable here) or
        ``CONSOLE_UNAVAILABLE`` when the console has moved or gone.
        """
        if not isinstance(token, str) or not 16 <= len(token) <= 256:
            raise _invalid("invalid token")
        now = self._now()
        grant = await self.db.run(console_tokens.consume_console_token, token, now=now)
        if grant is None:
            raise _invalid("invalid token (unknown, expired, already used or revoked)")
        if grant.console_type != console_type:
            raise _invalid(f"token is for a {grant.console_type} console, not {console_type}",
                           403)
        try:
            _, endpoint = await self._endpoint(grant.instance_uuid, console_type)
        except ApplicationError as exc:
            raise _invalid(f"console no longer available: {exc.args[0]}", 403) from exc
        if (str(endpoint["host"]), int(endpoint["port"])) != (grant.host, grant.port):
            log.warn("console token for {instance} refused: console moved from {old} to {new}",
                     instance=grant.instance_uuid, old=f"{grant.host}:{grant.port}",
                     new=f"{endpoint['host']}:{endpoint['port']}")
            raise _invalid("console moved since the token was issued", 403)
        expires_in = (_aware(grant.expires) - now).total_seconds()
        return {"instance_uuid": grant.instance_uuid, "console_type": grant.console_type,
                "host": grant.host, "port": grant.port, "tls": bool(endpoint.get("tls")),
                "password": endpoint.get("password"), "expires_in": expires_in,
                "token_id": str(grant.id), "user_id": grant.user_id or "",
                "project_id": grant.project_id or "", "view_only": grant.view_only}

    async def revoke(self, instance_uuid: str, reason: str = "console access revoked") -> int:
        """Delete every token of the instance and tell the proxies; return how many."""
        count = await self.db.run(console_tokens.delete_console_tokens_for_instance,
                                  instance_uuid)
        self.publish(rpcapi.REVOKED, {"instance_uuid": instance_uuid, "reason": reason})
        log.info("console tokens of {instance} revoked ({count}): {reason}",
                 instance=instance_uuid, count=count, reason=reason)
        return int(count)

    async def on_instance_event(self, view: dict[str, Any]) -> None:
        """An instance changed (``nova.project.<pid>.instance``): end consoles it takes away."""
        if not isinstance(view, dict) or "uuid" not in view:
            return
        reason = revocation_reason(view)
        if reason is not None:
            await self.revoke(str(view["uuid"]), reason)

    async def purge_expired(self) -> int:
        """Delete tokens that have expired; return how many."""
        return int(await self.db.run(
            lambda s: console_tokens.purge_expired_console_tokens(s, now=self._now())))

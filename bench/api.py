"""Benchmark nova-api: requests/s and latency of the calls clients make most.

    .venv/bin/python bench/api.py [--servers 1000] [--requests 400]
                                  [--concurrency 16] [--quick] [--json FILE]

The all-in-one (every nova_ws service, SQLite, the fake driver) runs in a
subprocess, as ``nova-ws up`` runs it, on free loopback ports. ``--servers``
active servers are written into its database for the demo project, so the
listings page through a realistic table. A client in this process then
keeps ``--concurrency`` requests in flight over persistent HTTP connections
until ``--requests`` of each kind have been answered, and reports, per kind:
requests/s (answers over the wall time of the run), p50 and p99 latency,
and how many answers were not the expected status. The kinds:

- token issue: ``POST /identity/v3/auth/tokens`` (password, project scope);
- server list: ``GET /compute/v2.1/servers`` and ``/servers/detail``
  (the first page: up to 1,000 servers);
- server show: ``GET /compute/v2.1/servers/{id}`` of a random server;
- flavor list: ``GET /compute/v2.1/flavors/detail``;
- server create + delete: ``POST /servers`` then ``DELETE /servers/{id}``,
  each pair one operation (the create's and the delete's latencies are also
  shown alone).

``--quick`` is a smoke test: 50 servers, 40 requests of each kind, 4 at
once. ``--json FILE`` writes the table's numbers. The client and the server
share the machine, so requests/s is a lower bound of the server's.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
sys.path.insert(0, str(REPO))

#: Runs the all-in-one in a subprocess and prints its API URL and passwords once started.
SERVER = """
import json, sys
from pathlib import Path
from twisted.internet import reactor
from nova_ws.testing.allinone import start_allinone

def main():
    aio = start_allinone(Path(sys.argv[1]))
    print(json.dumps({"api": aio.api, "admin": aio.credentials.admin_password,
                      "demo": aio.credentials.demo_password,
                      "database": aio.config.database.connection}), flush=True)

reactor.callWhenRunning(main)
reactor.run()
"""


@dataclass
class Result:
    """The answers of one kind of request."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def quantile(self, q: float) -> float:
        """The latency below which a fraction *q* of the answers came, in ms."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def row(self) -> dict[str, Any]:
        """The table's numbers."""
        count = len(self.latencies)
        return {"name": self.name, "requests": count, "errors": self.errors,
                "per_second": count / self.seconds if self.seconds else 0.0,
                "p50_ms": self.quantile(0.50), "p99_ms": self.quantile(0.99)}


class Client:
    """HTTP over a pool of persistent connections, with the tokens of the run."""

    def __init__(self, reactor: Any, api: str, concurrency: int) -> None:
        import treq
        from twisted.web.client import HTTPConnectionPool

        pool = HTTPConnectionPool(reactor, persistent=True)
        pool.maxPersistentPerHost = concurrency
        self.pool = pool
        self.http = treq
        self.api = api
        self.token = ""

    async def request(self, method: str, path: str, body: Any = None,
                      token: str | None = None, version: str = "2.96") -> tuple[int, Any, Any]:
        """One request; its status, decoded body (None if empty) and headers."""
        headers: dict[bytes | str, list[bytes | str]] = {
            "Content-Type": ["application/json"],
            "OpenStack-API-Version": [f"compute {version}"]}
        if token or self.token:
            headers["X-Auth-Token"] = [token or self.token]
        data = None if body is None else json.dumps(body).encode()
        response = await self.http.request(method, self.api + path, data=data,
                                           headers=headers, pool=self.pool)
        content = await response.content()
        return response.code, json.loads(content) if content else None, response.headers

    async def login(self, user: str, password: str) -> tuple[str, str]:
        """A token for *user* scoped to its project (of the same name), and that project."""
        code, body, headers = await self.request("POST", "/identity/v3/auth/tokens",
                                                 _auth(user, password), token="")
        if code != 201:
            raise SystemExit(f"login of {user} failed: {code}")
        return str(headers.getRawHeaders("X-Subject-Token")[0]), body["token"]["project"]["id"]


def _auth(user: str, password: str) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": user, "domain": {"name": "Default"}}}}}


async def measure(name: str, requests: int, concurrency: int,
                  once: Callable[[], Awaitable[bool]]) -> Result:
    """Run *once* *requests* times, *concurrency* at a time; time each and the whole."""
    from twisted.internet.defer import Deferred, gatherResults

    result = Result(name)
    left = [requests]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            start = time.perf_counter()
            ok = await once()
            result.latencies.append(time.perf_counter() - start)
            result.errors += 0 if ok else 1

    began = time.perf_counter()
    await gatherResults([Deferred.fromCoroutine(worker()) for _ in range(concurrency)])
    result.seconds = time.perf_counter() - began
    return result


def seed_servers(database: str, state: Path, count: int) -> tuple[list[str], str]:
    """Write *count* active servers of the demo project into the database: their ids,
    and the id of the image they run (``cirros``).
    """
    from sqlalchemy.orm import Session

    from nova_ws.config import DatabaseSection
    from nova_ws.db.engine import create_engine_from_config
    from nova_ws.db.queries import flavors, identity, images, instances

    engine = create_engine_from_config(DatabaseSection(connection=database),
                                       state_path=str(state))
    try:
        with Session(engine) as session, session.begin():
            domain = identity.DEFAULT_DOMAIN_ID
            project = identity.find_project(session, "demo", domain_id=domain)
            user = identity.find_user(session, "demo", domain_id=domain)
            flavor = flavors.get_flavor(session, "1")
            [image] = images.list_images(session, name="cirros")
            # a host no compute service has, so no periodic task touches them
            return [instances.create_instance(
                session, project_id=project.id, user_id=user.id, flavor=flavor,
                image_ref=image.uuid, display_name=f"bench-{i:04d}", hostname=f"bench-{i:04d}",
                vm_state="active", task_state=None, metadata={"tier": "bench"}).uuid
                for i in range(count)], image.uuid
    finally:
        engine.dispose()


async def run(reactor: Any, args: argparse.Namespace, api: str, admin: str, demo: str,
              servers: list[str], image: str) -> list[Result]:
    """Every measurement, in order."""
    client = Client(reactor, api, args.concurrency)
    admin_token, _ = await client.login("admin", admin)
    demo_token, project = await client.login("demo", demo)
    unlimited = {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}
    code, _, _ = await client.request("PUT", f"/compute/v2.1/os-quota-sets/{project}",
                                      unlimited, token=admin_token)
    if code != 200:
        raise SystemExit(f"could not lift the demo project's quotas: {code}")
    client.token = demo_token
    n, c = args.requests, args.concurrency

    async def ok(method: str, path: str, status: int, body: Any = None,
                 token: str | None = None) -> bool:
        code, _, _ = await client.request(method, path, body, token=token)
        return code == status

    results = [await measure("token issue", n, c, lambda: ok(
        "POST", "/identity/v3/auth/tokens", 201, _auth("demo", demo), token=""))]
    for name, path in (("server list", "/compute/v2.1/servers"),
                       ("server list (detail)", "/compute/v2.1/servers/detail"),
                       ("flavor list (detail)", "/compute/v2.1/flavors/detail")):
        results.append(await measure(name, n, c, partial(ok, "GET", path, 200)))
    results.append(await measure("server show", n, c, lambda: ok(
        "GET", f"/compute/v2.1/servers/{random.choice(servers)}", 200)))
    create, delete = Result("  server create alone"), Result("  server delete alone")
    body = {"server": {"name": "bench-new", "flavorRef": "1", "imageRef": image,
                       "networks": "none"}}

    async def create_delete() -> bool:
        start = time.perf_counter()
        code, answer, _ = await client.request("POST", "/compute/v2.1/servers", body)
        create.latencies.append(time.perf_counter() - start)
        if code != 202:
            create.errors += 1
            return False
        start = time.perf_counter()
        gone = await ok("DELETE", f"/compute/v2.1/servers/{answer['server']['id']}", 204)
        delete.latencies.append(time.perf_counter() - start)
        delete.errors += 0 if gone else 1
        return gone

    pair = await measure("server create + delete", n, c, create_delete)
    create.seconds = delete.seconds = pair.seconds
    results += [pair, create, delete]
    await client.pool.closeCachedConnections()
    return results


def _server_failures(log: str) -> list[str]:
    """What went wrong in the all-in-one: each kind of traceback's last line, counted."""
    counts: dict[str, int] = {}
    lines = log.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Traceback"):
            last = next((lines[i] for i in range(index + 1, len(lines))
                         if lines[i] and not lines[i].startswith((" ", "Traceback"))), "")
            kind = UUID.sub("<uuid>", last)[:160]
            counts[kind] = counts.get(kind, 0) + 1
    return [f"{n} x {text}" for text, n in sorted(counts.items(), key=lambda kv: -kv[1])]


def table(results: list[Result], args: argparse.Namespace) -> str:
    """The report."""
    lines = [f"nova-api, all-in-one on SQLite with {args.servers} servers; "
             f"{args.concurrency} requests in flight",
             f"{'':26}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"]
    for result in results:
        r = result.row()
        lines.append(f"{r['name']:26}{r['requests']:9d}{r['per_second']:9.1f}"
                     f"{r['p50_ms']:9.1f}{r['p99_ms']:9.1f}{r['errors']:8d}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Start the all-in-one, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="a smoke test")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.servers, args.requests, args.concurrency = 50, 40, 4
    with tempfile.TemporaryDirectory(prefix="nova-bench-api-") as state:
        log_path = Path(state) / "allinone.log"
        log = log_path.open("w")
        server = subprocess.Popen([sys.executable, "-c", SERVER, state], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert server.stdout is not None
            line = server.stdout.readline()
            if not line:
                raise SystemExit("the all-in-one did not start")
            started = json.loads(line)
            servers, image = seed_servers(started["database"], Path(state), args.servers)
            from twisted.internet import task
            from twisted.internet.defer import Deferred

            results: list[Result] = []

            async def go(reactor: Any) -> None:
                results.extend(await run(reactor, args, started["api"], started["admin"],
                                         started["demo"], servers, image))

            try:
                task.react(lambda reactor: Deferred.fromCoroutine(go(reactor)))
            except SystemExit as done:  # react's way to end
                if done.code:
                    raise
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            failures = _server_failures(log_path.read_text(errors="replace"))
    print(table(results, args))
    for line in failures:
        print(f"all-in-one: {line}")
    if args.json is not None:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "results": [r.row() for r in results]},
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

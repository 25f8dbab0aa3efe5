"""``kamsync sandbox``: the local imitation of the Kameleoon Automation API, for trying and testing."""

from __future__ import annotations

import click

__all__ = ["sandbox"]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port; 0 picks a free one.")
@click.option("--state", "state_file", type=click.Path(), help="Keep the sandbox state in this JSON file.")
@click.option(
    "--rate-limit",
    default="50/10s,1000/1h",
    show_default=True,
    metavar="SPEC",
    help="Rate-limit windows per client id, e.g. 5/1s,20/4s.",
)
@click.option(
    "--token-ttl",
    default=7200.0,
    show_default=True,
    type=click.FloatRange(min=1.0),
    help="Access-token lifetime, seconds.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help="Inject a fault, announced on stderr when it happens. Repeatable. SPEC: [METHOD ]N[xK]=ACTION or "
    "[METHOD ]*=ACTION (ACTION: 500-599, 429, 429-no-retry-after, 429-retry-after=VALUE, drop, drop-after, "
    "stall=SECONDS, hold, fresh-pages, trickle=SECONDS, abridged=FIELD+FIELD), expire-token=N, "
    "lock=experiment|variation:ID, echo-token=body|json|basic|raw.",
)
def sandbox(
    host: str, port: int, state_file: str | None, rate_limit: str, token_ttl: float, faults: tuple[str, ...]
) -> int:
    """Serve a faithful local imitation of the Kameleoon Automation API on loopback.

    Prints its URL on the first line, then the credentials to export. Seeded with a demo site matching
    examples/repo-layout. Faults can also be armed while it runs: POST /_sandbox/faults {"faults": [SPEC…]}.

    \b
    Examples:
      kamsync sandbox --port 0 --state /tmp/sandbox.json
      kamsync sandbox --fault 'PATCH 2=503' --fault '5=drop' --fault 'lock=variation:200001'
    """
    from kamsync.sandbox import serve

    serve(host, port, state_file, rate_limit, token_ttl, faults=faults)
    return 0

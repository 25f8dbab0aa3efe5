"""How ``kamsync login`` and ``kamsync logout`` look."""

from __future__ import annotations

from kamsync.core.events import LoginAnswerRefused, LoginPage
from kamsync.core.reports import LoginReport
from kamsync.ui.console import Console
from kamsync.ui.show import renders


@renders(LoginPage)
def _page(console: Console, event: LoginPage) -> None:
    console.info(f"approve kamsync for client {event.client_id} on this page (opening it in your browser):")
    console.info(f"  {event.url}")


@renders(LoginAnswerRefused)
def _refused(console: Console, event: LoginAnswerRefused) -> None:
    console.warn(
        f"refused a request to {event.redirect_uri} that did not carry the state kamsync sent (another page's, or "
        "a forged login answer); still waiting for the page above to be approved"
    )


@renders(LoginReport)
def show_login(console: Console, result: LoginReport) -> None:
    console.emit_json({"api_url": result.api_url, "client_id": result.client_id, "logged_in": result.logged_in})
    if result.logged_in:
        console.out(
            f"Logged in to {result.api_url} as the partner client {result.client_id}; commands use this login when "
            "KAMELEOON_CLIENT_ID is not set (kamsync logout forgets it)"
        )
    elif result.client_id is not None:
        whose = f" of client {result.client_id}" if result.client_id else ""
        console.out(f"Logged out of {result.api_url}: the stored partner login{whose} and its tokens are deleted")
    else:
        console.out(f"No partner login stored for {result.api_url}: nothing to delete")

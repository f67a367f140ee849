"""Webhook URLs: which ones we accept, and how they are shown back (masked, never in full).

A webhook URL is a secret (whoever has it can post to the room). It is accepted when the
outbound address policy of feeds accepts it (:meth:`AddressPolicy.check_url`: the same rule
and the same :class:`~curation.errors.AddressRefused` as the sources API; the addresses a name
resolves to are checked again at connect time by the fetcher's resolver) and it is ``https``;
plain ``http`` only to a host or address the operator's allow list
(``CURATION_FETCH_ALLOW_HOSTS``) names, as loopback test receivers are.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from curation.errors import AddressRefused, InvalidInput
from curation.ingest.netpolicy import ALLOW_SETTING, AddressPolicy, normalise_ip

MAX_URL_CHARS = 2000


def check_webhook_url(policy: AddressPolicy, url: str) -> str:
    """``url`` stripped, or :class:`AddressRefused` / :class:`InvalidInput` saying why not."""
    url = url.strip()
    if not url or len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"a webhook URL must be 1 to {MAX_URL_CHARS} characters")
    policy.check_url(url)  # refuses internal addresses, other schemes and odd ports
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" and not _named_by_allow_list(policy, parts.hostname):
        raise AddressRefused(
            f"refused: a webhook URL must use https (http only to hosts in {ALLOW_SETTING})",
            permanent=True,
        )
    return url


def _named_by_allow_list(policy: AddressPolicy, host: str | None) -> bool:
    if not host:
        return False
    address = normalise_ip(host)
    if address is None:
        return host.lower().rstrip(".") in policy.hosts
    return any(address.version == net.version and address in net for net in policy.networks)


def mask_webhook(url: str | None) -> str | None:
    """``https://hooks.slack.com/services/T…/***``: the scheme, host and first path segment,
    the first character of the next one, never the rest (the secret part) nor the query."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    segments = [s for s in parts.path.split("/") if s]
    shown = f"{parts.scheme}://{host}"
    if segments:
        shown += f"/{segments[0]}"
    if len(segments) > 1:
        shown += f"/{segments[1][:1]}…"
    return shown + "/***"

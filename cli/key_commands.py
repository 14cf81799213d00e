"""``stylefarm keys list|revoke``: the API keys of the farm on this machine (beside ``keys create``).

Like ``keys create`` these open the farm's database directly (``STYLEFARM_HOME`` or ``--home``),
so they are for whoever runs the farm, not for tenants. A key is shown by its prefix only: the
farm stores a hash, never the key.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from cli.options import echo_json
from cli.stack_commands import farm_session, home_option, keys, settings_for

__all__ = ["keys", "list_keys", "revoke_key"]


@keys.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")
def list_keys(home: Path | None, as_json: bool) -> None:
    """List every API key: id, tenant, prefix, label, created, last used, revoked."""
    from shared.db import ApiKey, Tenant

    with farm_session(home) as session:
        rows = session.execute(
            select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id).order_by(ApiKey.created_at)
        ).all()
        listed = [
            {
                "id": key.id,
                "tenant": tenant,
                "prefix": key.prefix,
                "label": key.label,
                "created_at": key.created_at.isoformat() if key.created_at else None,
                "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
                "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
            }
            for key, tenant in rows
        ]
    if as_json:
        echo_json(listed)
        return
    for key in listed:
        state = f"revoked {key['revoked_at']}" if key["revoked_at"] else f"last used {key['last_used_at'] or 'never'}"
        click.echo(f"{key['id']}  {key['tenant']:<20} {key['prefix']}…  {key['label'] or '-'}  {state}")


@keys.command("revoke")
@click.argument("key_id_or_prefix")
@home_option
def revoke_key(key_id_or_prefix: str, home: Path | None) -> None:
    """Revoke a key by its id or its prefix (as ``keys list`` shows them).

    The API refuses it within ``STYLEFARM_API_KEY_CACHE_S`` (each API process remembers valid keys that long).
    """
    from shared.db import ApiKey, utcnow

    settings = settings_for(home)
    with farm_session(home) as session:
        found = session.scalars(
            select(ApiKey).where((ApiKey.id == key_id_or_prefix) | (ApiKey.prefix == key_id_or_prefix))
        ).all()
        if len(found) != 1:
            problem = "no key" if not found else f"{len(found)} keys"
            raise click.UsageError(f"{problem} match {key_id_or_prefix!r}; use an id from `stylefarm keys list`")
        key = found[0]
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            session.commit()
        click.echo(f"revoked key {key.id} ({key.prefix}…); refused within {settings.api_key_cache_s:g} s")

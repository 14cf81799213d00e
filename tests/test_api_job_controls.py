"""Job controls over HTTP (issue 13): masks checked at submission, style defaults filling what a job leaves unset."""

from __future__ import annotations

from sqlalchemy import select

from api.extensions import db
from shared.db import Style, StyleKind, StyleStatus, Tenant
from tests.conftest_api import image_bytes, upload


def submit(client, headers, **body):
    return client.post("/v1/jobs", json=body, headers=headers)


def test_a_mask_upload_must_fit_every_input_or_the_job_is_refused_with_both_sizes(api_client, auth_headers):
    photo = upload(api_client, auth_headers, image_bytes(64, 48)).json["id"]
    fits = upload(api_client, auth_headers, image_bytes(32, 24), name="mask.png").json["id"]
    wrong = upload(api_client, auth_headers, image_bytes(40, 40), name="square.png").json["id"]
    ok = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}], mask=fits, mask_mode="keep")
    assert ok.status_code == 201, ok.json
    refused = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}], mask=wrong)
    assert refused.status_code == 400
    assert "40×40" in refused.json["message"] and "64×48" in refused.json["message"]
    missing = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}], mask="no-such-upload")
    assert missing.status_code == 400 and "not found" in missing.json["message"]
    for keyword in ("alpha", "auto"):
        assert (
            submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}], mask=keyword).status_code
            == 201
        )


def test_regions_need_a_mask_on_every_style_and_no_job_mask(api_client, auth_headers):
    photo = upload(api_client, auth_headers, image_bytes(64, 48)).json["id"]
    left = upload(api_client, auth_headers, image_bytes(64, 48), name="left.png").json["id"]
    styles = [{"style": "builtin:3", "mask": left}, {"style": "builtin:7", "mask": "auto"}]
    job = submit(api_client, auth_headers, inputs=[photo], styles=styles, feather=4)
    assert job.status_code == 201, job.json
    assert len(job.json["items"]) == 1, "a style per region is one output"
    half = [{"style": "builtin:3", "mask": left}, {"style": "builtin:7"}]
    assert submit(api_client, auth_headers, inputs=[photo], styles=half).status_code == 422
    both = submit(api_client, auth_headers, inputs=[photo], styles=styles, mask="alpha")
    assert both.status_code == 422
    assert (
        submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}], fidelity=1.5).status_code
        == 422
    )


def test_style_defaults_fill_what_the_job_leaves_unset_and_the_item_shows_which(api_app, api_client, auth_headers):
    with api_app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.name == "acme"))
        style = Style(
            tenant_id=tenant.id,
            name="soft-wave",
            kind=StyleKind.VECTOR,
            status=StyleStatus.READY,
            vector=[0.1] * 100,
            defaults={"strength": 0.6, "color_mode": "preserve", "fidelity": 0.5},
        )
        db.session.add(style)
        db.session.commit()
    photo = upload(api_client, auth_headers, image_bytes(64, 48)).json["id"]
    job = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "soft-wave"}], strength=0.9)
    assert job.status_code == 201, job.json
    [item] = job.json["items"]
    used = item["render_settings"]
    assert used["values"]["strength"] == 0.9, "the job's own value wins"
    assert used["values"]["color_mode"] == "preserve" and used["values"]["fidelity"] == 0.5
    assert sorted(used["from_style"]) == ["color_mode", "fidelity"]
    shown = api_client.get(f"/v1/jobs/{job.json['id']}", headers=auth_headers).json["items"][0]["render_settings"]
    assert shown == used
    builtin = submit(api_client, auth_headers, inputs=[photo], styles=[{"style": "builtin:3"}]).json["items"][0]
    assert builtin["render_settings"]["from_style"] == [] and builtin["render_settings"]["values"]["strength"] == 1.0

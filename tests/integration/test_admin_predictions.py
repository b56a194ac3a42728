"""Predictions in the admin: the customer page and API show the customer's scores with the
sentence that explains them (in the viewer's language), the Settings page the model's
quality; before a fit both say so instead of showing numbers."""

from __future__ import annotations

from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from plugin.predictions.explain import explain
from plugin.predictions.models import Prediction, PredictionFit
from plugin.predictions.services import refit_shop
from plugin.profiles.models import Customer
from plugin.runtime import Runtime
from tests.support.admin import NOW, people, seed_shop, sign_in


def fitted_shop(runtime: Runtime) -> tuple[int, str, Prediction]:
    shop = seed_shop(runtime, "predict.myshopify.com", people(24))
    with runtime.sessions.begin() as session:
        fit = refit_shop(session, shop.shop_id, NOW)
        assert fit.scored > 0
        customer_id, platform_id = session.execute(
            select(Customer.id, Customer.platform_id).where(
                Customer.shop_id == shop.shop_id, Customer.orders_count >= 3
            )
        ).first()
        row = session.get(Prediction, (shop.shop_id, customer_id))
        session.expunge(row)
    return shop.shop_id, platform_id, row


def test_the_customer_page_and_api_show_the_explained_scores(
    runtime: Runtime, admin_client: FlaskClient
) -> None:
    shop_id, platform_id, row = fitted_shop(runtime)
    sign_in(admin_client, runtime, shop_id)

    page = admin_client.get(f"/admin/customers/{platform_id}").get_data(as_text=True)
    assert 'id="prediction-explanation"' in page
    assert str(escape(explain(row, "en"))) in page  # the sentence, escaped like any text
    document = admin_client.get(f"/api/customers/{platform_id}").get_json()["prediction"]
    assert document["kind"] == row.prediction_kind
    assert document["churn_risk"] == row.churn_risk
    assert document["explanation"] == explain(row, "en")

    polish = admin_client.get(f"/admin/customers/{platform_id}?locale=pl").get_data(as_text=True)
    assert str(escape(explain(row, "pl"))) in polish and "Prognoza" in polish


def test_settings_show_the_models_quality_and_say_when_there_is_none(
    runtime: Runtime, admin_client: FlaskClient
) -> None:
    empty = seed_shop(runtime, "nofit.myshopify.com", people(2))
    sign_in(admin_client, runtime, empty.shop_id)
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert "Not fitted yet" in page and 'id="fit-kind"' not in page
    customer = people(1)[0][0]
    assert admin_client.get(f"/api/customers/{customer}").get_json()["prediction"] is None

    shop_id, _, _ = fitted_shop(runtime)
    with runtime.sessions() as session:
        fit = session.get(PredictionFit, shop_id)
    sign_in(admin_client, runtime, shop_id)
    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert 'id="fit-kind"' in page and 'id="fit-holdout"' in page
    assert f"{fit.scored} of {fit.customers} with orders ({fit.repeat_customers} repeat)" in page

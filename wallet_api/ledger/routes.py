from typing import Any

from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.ledger import service
from wallet_api.ledger.schemas import VerifyReportSchema

blp = Blueprint("ledger", __name__, url_prefix="/v1/ledger", description="Ledger operations")


@blp.route("/verify", operations={"get": "verify_ledger"})
class Verify(MethodView):
    @blp.auth("admin")
    @blp.response(200, VerifyReportSchema)
    def get(self) -> dict[str, Any]:
        """Check the ledger invariants (admin)

        Admins only. Reports each invariant (every transaction sums to zero, every cached
        balance equals its entries, no customer below zero...) with what breaks it, if
        anything; it changes nothing.
        """
        checks = service.verify_ledger()
        return {"ok": all(c.ok for c in checks), "checks": checks}

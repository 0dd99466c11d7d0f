from typing import Any

from flask.views import MethodView

from wallet_api.audit import service
from wallet_api.audit.schemas import AuditEventSchema, AuditQuerySchema
from wallet_api.extensions import Blueprint
from wallet_api.extensions.pagination import page_of

blp = Blueprint("audit", __name__, url_prefix="/v1", description="Audit log (admins)")


@blp.route("/audit-events", operations={"get": "list_audit_events"})
class AuditEvents(MethodView):
    @blp.auth("admin")
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, page_of(AuditEventSchema))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Staff and admin actions on money and roles, newest first (admin)

        Admins only. Each event says who acted, on what and why; filter by tag or
        subject, and page with the cursor.
        """
        return service.list_events(**args)

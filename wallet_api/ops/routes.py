from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.extensions.problems import problem_response
from wallet_api.ops import service
from wallet_api.ops.schemas import HealthSchema, ReadySchema

blp = Blueprint("ops", __name__, description="Liveness and readiness")


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """Liveness: the process answers"""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.problems(503)
    def get(self):
        """Readiness: database reachable and migrations at head (Redis reported, not required)"""
        state = service.readiness()
        if not state["ready"]:
            return problem_response(
                503,
                "not_ready",
                "Not ready",
                f"database {state['database']}, migrations {state['migrations']}",
            )
        return state

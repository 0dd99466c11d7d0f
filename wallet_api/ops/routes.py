from flask.views import MethodView

from wallet_api.extensions import Blueprint
from wallet_api.ops import service
from wallet_api.ops.errors import NotReady
from wallet_api.ops.schemas import HealthSchema, ReadySchema

blp = Blueprint("ops", __name__, description="Liveness and readiness")


@blp.route("/health", operations={"get": "check_health"})
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, str]:
        """Liveness: the process answers

        Anyone may call it. It touches neither the database nor Redis: a load balancer
        restarts a process that does not answer it.
        """
        return {"status": "ok"}


@blp.route("/ready", operations={"get": "check_readiness"})
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.problems(NotReady)
    def get(self) -> dict[str, object]:
        """Readiness: database reachable and migrations at head (Redis reported, not required)

        Anyone may call it. A load balancer sends traffic only to a process that answers
        200; until then it answers 503 `not_ready`, saying what is missing.
        """
        state = service.readiness()
        if not state["ready"]:
            raise NotReady(f"database {state['database']}, migrations {state['migrations']}")
        return state

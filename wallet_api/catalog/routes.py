import uuid
from typing import Any

from flask.views import MethodView

from wallet_api.catalog import service
from wallet_api.catalog.errors import IngredientNotFound, NameTaken, ProductNotFound
from wallet_api.catalog.models import Ingredient, Product
from wallet_api.catalog.schemas import (
    SIZES,
    CatalogSchema,
    IngredientPatchSchema,
    IngredientSchema,
    ProductPatchSchema,
    ProductSchema,
)
from wallet_api.extensions import Blueprint
from wallet_api.extensions.problems import DatabaseUnavailable
from wallet_api.ledger.service import currency

blp = Blueprint("catalog", __name__, url_prefix="/v1/catalog", description="The menu")


@blp.route("", operations={"get": "get_catalog"})
class Catalog(MethodView):
    @blp.response(200, CatalogSchema)
    @blp.problems(DatabaseUnavailable)
    def get(self) -> dict[str, Any]:
        """The menu: standard drinks with prices per size, and ingredients

        Anyone may read it. Only what is on the menu now; blends are composed of these
        ingredients, and the server prices every order from it.
        """
        return {
            "currency": currency(),
            "sizes": SIZES,
            "products": service.list_products(),
            "ingredients": service.list_ingredients(),
        }


@blp.route("/products", operations={"post": "create_product"})
class Products(MethodView):
    @blp.auth("admin")
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    @blp.problems(NameTaken)
    def post(self, data: dict[str, Any]) -> Product:
        """Add a standard drink (admin)

        Admins only. The name must be unused on the menu; prices are per size, in cents.
        """
        return service.create_product(data)


@blp.route(
    "/products/<uuid:product_id>",
    operations={"patch": "update_product", "delete": "remove_product"},
)
class ProductById(MethodView):
    @blp.auth("admin")
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductSchema)
    @blp.problems(ProductNotFound, NameTaken)
    def patch(self, data: dict[str, Any], product_id: uuid.UUID) -> Product:
        """Change a standard drink (admin)

        Admins only. Fields left out stay as they are; receipts already issued keep the
        price they were charged.
        """
        return service.update_product(service.get_product(product_id), data)

    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(ProductNotFound)
    def delete(self, product_id: uuid.UUID) -> None:
        """Take a drink off the menu (admin); old receipts keep it

        Admins only. The drink is hidden, not deleted: it can no longer be ordered.
        """
        service.hide(service.get_product(product_id))


@blp.route("/ingredients", operations={"post": "create_ingredient"})
class Ingredients(MethodView):
    @blp.auth("admin")
    @blp.arguments(IngredientSchema)
    @blp.response(201, IngredientSchema)
    @blp.problems(NameTaken)
    def post(self, data: dict[str, Any]) -> Ingredient:
        """Add an ingredient (admin)

        Admins only. The name must be unused on the menu; only a base has a price per
        size (`validation_error` otherwise).
        """
        return service.create_ingredient(data)


@blp.route(
    "/ingredients/<uuid:ingredient_id>",
    operations={"patch": "update_ingredient", "delete": "remove_ingredient"},
)
class IngredientById(MethodView):
    @blp.auth("admin")
    @blp.arguments(IngredientPatchSchema)
    @blp.response(200, IngredientSchema)
    @blp.problems(IngredientNotFound, NameTaken)
    def patch(self, data: dict[str, Any], ingredient_id: uuid.UUID) -> Ingredient:
        """Change an ingredient (admin)

        Admins only. Fields left out stay as they are; existing blends keep the snapshot
        they were priced with.
        """
        return service.update_ingredient(service.get_ingredient(ingredient_id), data)

    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(IngredientNotFound)
    def delete(self, ingredient_id: uuid.UUID) -> None:
        """Take an ingredient off the menu (admin); existing blends keep their snapshot

        Admins only. The ingredient is hidden, not deleted: new blends cannot use it.
        """
        service.hide(service.get_ingredient(ingredient_id))

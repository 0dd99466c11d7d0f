from flask.views import MethodView

from wallet_api.catalog import service
from wallet_api.catalog.schemas import (
    SIZES,
    CatalogSchema,
    IngredientPatchSchema,
    IngredientSchema,
    ProductPatchSchema,
    ProductSchema,
)
from wallet_api.extensions import Blueprint
from wallet_api.ledger.service import currency

blp = Blueprint("catalog", __name__, url_prefix="/v1/catalog", description="The menu")


@blp.route("")
class Catalog(MethodView):
    @blp.response(200, CatalogSchema)
    def get(self):
        """The menu: standard drinks with prices per size, and ingredients"""
        return {
            "currency": currency(),
            "sizes": SIZES,
            "products": service.list_products(),
            "ingredients": service.list_ingredients(),
        }


@blp.route("/products")
class Products(MethodView):
    @blp.auth("admin")
    @blp.arguments(ProductSchema)
    @blp.response(201, ProductSchema)
    @blp.problems(409)
    def post(self, data):
        """Add a standard drink (admin)"""
        return service.create_product(data)


@blp.route("/products/<uuid:product_id>")
class ProductById(MethodView):
    @blp.auth("admin")
    @blp.arguments(ProductPatchSchema)
    @blp.response(200, ProductSchema)
    @blp.problems(404, 409)
    def patch(self, data, product_id):
        """Change a standard drink (admin)"""
        return service.update_product(service.get_product(product_id), data)

    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(404)
    def delete(self, product_id):
        """Take a drink off the menu (admin); old receipts keep it"""
        service.hide(service.get_product(product_id))


@blp.route("/ingredients")
class Ingredients(MethodView):
    @blp.auth("admin")
    @blp.arguments(IngredientSchema)
    @blp.response(201, IngredientSchema)
    @blp.problems(409)
    def post(self, data):
        """Add an ingredient (admin)"""
        return service.create_ingredient(data)


@blp.route("/ingredients/<uuid:ingredient_id>")
class IngredientById(MethodView):
    @blp.auth("admin")
    @blp.arguments(IngredientPatchSchema)
    @blp.response(200, IngredientSchema)
    @blp.problems(404, 409)
    def patch(self, data, ingredient_id):
        """Change an ingredient (admin)"""
        return service.update_ingredient(service.get_ingredient(ingredient_id), data)

    @blp.auth("admin")
    @blp.response(204)
    @blp.problems(404)
    def delete(self, ingredient_id):
        """Take an ingredient off the menu (admin); existing blends keep their snapshot"""
        service.hide(service.get_ingredient(ingredient_id))

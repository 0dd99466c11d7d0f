from wallet_api.extensions.problems import Conflict, NotFound, Unprocessable


class ProductNotFound(NotFound):
    code, title = "product_not_found", "No such product"


class IngredientNotFound(NotFound):
    code, title = "ingredient_not_found", "No such ingredient"


class ItemUnavailable(Unprocessable):
    code, title = "item_unavailable", "This item is not on the menu"


class SizeUnavailable(Unprocessable):
    code, title = "size_unavailable", "This size is not offered for this item"


class NameTaken(Conflict):
    code, title = "name_taken", "An item with this name exists"

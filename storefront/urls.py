"""The public storefront (included at /store/ by config.urls, namespace `storefront`). Every page but the order
confirmation is open to visitors; that one is scoped to the signed-in client."""
from django.urls import path

from storefront import views

app_name = "storefront"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("product/<int:product_id>/", views.configure, name="configure"),
    path("cart/", views.cart_view, name="cart"),
    path("signup/", views.signup, name="signup"),
    path("checkout/", views.checkout, name="checkout"),
    path("verify/resend/", views.resend_verification, name="resend_verification"),
    path("verify/<str:token>/", views.verify_email, name="verify_email"),
    path("orders/<int:order_id>/", views.order_done, name="order_done"),
]

Kameleoon.API.Core.runWhenElementPresent(".checkout-summary .total", function (elements) {
  var badges = document.createElement("div");
  badges.className = "kam-badges";
  badges.innerHTML =
    '<img src="/img/secure-payment.svg" alt="Secure payment">' +
    '<img src="/img/free-returns.svg" alt="Free returns">';
  elements[0].parentNode.insertBefore(badges, elements[0]);
});

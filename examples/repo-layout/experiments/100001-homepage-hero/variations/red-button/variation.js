Kameleoon.API.Core.runWhenElementPresent(".hero .cta", function (elements) {
  elements[0].classList.add("kam-cta-red");
});

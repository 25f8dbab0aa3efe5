Kameleoon.API.Core.runWhenElementPresent(".hero h1", function (elements) {
  elements[0].textContent = "Everything you need, delivered tomorrow";
});

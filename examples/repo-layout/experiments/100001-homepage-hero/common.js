// Shared by both variations: tag the page so their CSS only applies during the test.
document.documentElement.classList.add("kam-hero-test");

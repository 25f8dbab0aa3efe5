// Runs after the site's global script: remember when the visitor first saw the test.
window.kamHeroTest = window.kamHeroTest || { firstSeen: Date.now() };

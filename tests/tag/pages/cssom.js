// What styled-components / emotion do in production: rules go straight into the CSSOM.
(function () {
  var sheet = document.getElementById('sc').sheet;
  sheet.insertRule('.a { color: rgb(200, 0, 0); }', 0);
  sheet.insertRule('.b { margin: 3px; }', 1);
  var constructed = new CSSStyleSheet();
  constructed.replaceSync('body { background: rgb(1, 2, 3); }');
  document.adoptedStyleSheets = [constructed];
  document.addEventListener('DOMContentLoaded', function () {
    var root = document.getElementById('host').attachShadow({ mode: 'open' });
    var p = document.createElement('p');
    p.textContent = 'shadow styled';
    root.appendChild(p);
    var inner = new CSSStyleSheet();
    inner.replaceSync('p { font-weight: 700; }');
    root.adoptedStyleSheets = [inner];
  });
})();

// Ordinary page script (no inline script: the page is served with a strict CSP).
document.addEventListener('DOMContentLoaded', () => {
  const counter = document.getElementById('counter');
  document.getElementById('go').addEventListener('click', () => {
    counter.textContent = String(Number(counter.textContent) + 1);
  });
});

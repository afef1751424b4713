// A controlled input the way React implements it: the instance's own `value` property tracks
// what the framework last wrote, and an `input` event whose value equals the tracked one is
// ignored. Only a write through the prototype's native setter gets past it.
document.addEventListener('DOMContentLoaded', () => {
  const input = document.getElementById('name');
  const native = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value');
  let tracked = '';
  let state = '';
  Object.defineProperty(input, 'value', {
    configurable: true,
    get() { return native.get.call(this); },
    set(v) { tracked = String(v); native.set.call(this, v); },
  });
  input.addEventListener('input', () => {
    const v = native.get.call(input);
    if (v === tracked) return;
    tracked = v;
    state = v;
    document.getElementById('echo').textContent = state;
    input.value = state;
  });
  const agree = document.getElementById('agree');
  agree.addEventListener('click', () => {
    document.getElementById('agreed').textContent = agree.checked ? 'yes' : 'no';
  });
  const clicks = document.getElementById('clicks');
  document.getElementById('go').addEventListener('click', () => {
    clicks.textContent = String(Number(clicks.textContent) + 1);
  });
});

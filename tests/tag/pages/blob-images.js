// Images the page makes itself: object URLs of Blobs drawn here (issue 15, class 2). The page
// also wraps the canvas methods the tag needs, counting calls on canvases not its own: the tag
// must call its pristine copies.
const mine = new WeakSet(); // the page's own canvases (its calls on them are not counted)
window.paint = (w, h, left, right) => {
  const c = document.createElement('canvas');
  mine.add(c);
  c.width = w;
  c.height = h;
  const g = c.getContext('2d');
  g.fillStyle = left;
  g.fillRect(0, 0, w / 2, h);
  g.fillStyle = right;
  g.fillRect(w / 2, 0, w - w / 2, h);
  return new Promise((resolve) => c.toBlob((b) => resolve(URL.createObjectURL(b)), 'image/png'));
};
window.blobsReady = (async () => {
  await new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve));
  const image = (id) => document.getElementById(id);
  const loaded = (el) => el.decode();
  image('plain').src = await paint(40, 20, '#ff0000', '#0000ff');
  image('set').srcset = (await paint(30, 10, '#00ff00', '#ffff00')) + ' 1x';
  image('huge').src = await paint(1200, 1000, '#00ffff', '#ff00ff');
  image('masked').src = await paint(20, 20, '#123456', '#654321');
  await Promise.all(['plain', 'set', 'huge', 'masked'].map((id) => loaded(image(id))));
})();
window.__patched = 0;
const wrap = (proto, name) => {
  const original = proto[name];
  proto[name] = function (...args) {
    if (!mine.has(this.canvas || this)) window.__patched++;
    return original.apply(this, args);
  };
};
wrap(HTMLCanvasElement.prototype, 'toDataURL');
wrap(HTMLCanvasElement.prototype, 'getContext');
wrap(CanvasRenderingContext2D.prototype, 'drawImage');

// Runs before the tag (a parser-blocking script ahead of the async tag): keeps the attachShadow
// the tag will wrap, so tests can compare the two, and defines elements with closed roots.
window.attachBeforeTag = Element.prototype.attachShadow;
window.attachBeforeTagDescriptor = Object.getOwnPropertyDescriptor(Element.prototype, 'attachShadow');

// A widget keeping its content private, as payment and identity widgets do.
class XPrivate extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: 'closed' });
    root.innerHTML = '<p>closed secret</p><slot></slot>';
  }
}
class XOpen extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: 'open' }).innerHTML = '<p>open ' + this.id + '</p><slot></slot>';
  }
}
customElements.define('x-private', XPrivate);
customElements.define('x-open', XOpen);

// Attached before the tag loads (this script runs first): the tag cannot know this one.
const early = document.createElement('div');
early.id = 'early';
early.attachShadow({ mode: 'closed' }).innerHTML = '<p>closed secret early</p><slot></slot>';
early.append('early light');
document.addEventListener('DOMContentLoaded', () => document.getElementById('hosts').before(early));

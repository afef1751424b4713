// Lone UTF-16 surrogates as pages make them (an HTML parser never does: it reads &#xD800; as
// U+FFFD): a script cutting text inside an emoji, an attribute, the title, a form value. Next to
// them, what must go unchanged: a real emoji (a pair) and a backslash followed by "ud800" text.
document.addEventListener('DOMContentLoaded', () => {
  const $ = (id) => document.getElementById(id);
  $('cut').firstChild.data = 'Sale \ud83d';
  $('cut').setAttribute('data-label', 'low \ude00 half');
  document.title = 'Shop \udc00 title';
  $('name').value = 'Jo\ud800';
  $('emoji').firstChild.data = 'Smile \ud83d\ude00';
  $('slash').firstChild.data = 'C:\\ud800 path';
  $('slash-lone').firstChild.data = 'C:\\\ud800 path';
  $('slashes').firstChild.data = 'C:\\\\ud800 path';
});

// The frame's page replaces its window's frameElement (an own accessor of each window) with a
// getter that throws: the tag reads it to find the masked container around the frame.
Object.defineProperty(window, 'frameElement', {
  get() { throw new Error('page broke frameElement'); },
  configurable: true,
});

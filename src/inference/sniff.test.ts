/** File kinds from their bytes: real files of every kind (corpus fixtures, and images made with Pillow). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jsonKind, sniff } from './sniff';

const corpus = (name: string) => new Uint8Array(readFileSync(join(__dirname, '../../tests/fixtures/corpus', name)));
const text = (s: string) => new TextEncoder().encode(s);

/** Small real images (Pillow 9.4): the JPEG carries an EXIF block (orientation 6) before its frame header. */
const IMAGES = {
  jpeg300x200:
    '/9j/4AAQSkZJRgABAQAAAQABAAD/4QAiRXhpZgAATU0AKgAAAAgAAQESAAMAAAABAAYAAAAAAAD/2wBDACgcHiMeGSgjISMtKygwPGRBPDc3PHtYXUlkkYCZlo+AjIqgtObDoKrarYqMyP/L2u71////m8H////6/+b9//j/2wBDASstLTw1PHZBQXb4pYyl+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj4+Pj/wAARCADIASwDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwBKKKK5TgCiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKACiiigAooooAKKKKAP/2Q==',
  webpLossy33x17:
    'UklGRkYAAABXRUJQVlA4IDoAAAAQAwCdASohABEAP3G202G0ryqmJWgCkC4JZwAAKa1cSgAA/uQBfoPiav/tT8rPd84s5RZGplQgAAAA',
  webpLossless33x17: 'UklGRh4AAABXRUJQVlA4TBEAAAAvIAAEAAdQhSLXo/+BiOh/AAA=',
  webpAlpha33x17:
    'UklGRmgAAABXRUJQVlA4WAoAAAAQAAAAIAAAEAAAQUxQSAoAAAABB1CyiAhERP8DVlA4IDgAAAAwAwCdASohABEAP3G202G0ryqmJWgCkC4JZwDQVA8KeFAAAP7kAW5P0vf9qflZ7vmoaA4sAAAAAA==',
  gif5x7:
    'R0lGODdhBQAHAIcAAAAAAAEBAQICAgMDAwQEBAUFBQYGBgcHBwgICAkJCQoKCgsLCwwMDA0NDQ4ODg8PDxAQEBERERISEhMTExQUFBUVFRYWFhcXFxgYGBkZGRoaGhsbGxwcHB0dHR4eHh8fHyAgICEhISIiIiMjIyQkJCUlJSYmJicnJygoKCkpKSoqKisrKywsLC0tLS4uLi8vLzAwMDExMTIyMjMzMzQ0NDU1NTY2Njc3Nzg4ODk5OTo6Ojs7Ozw8PD09PT4+Pj8/P0BAQEFBQUJCQkNDQ0REREVFRUZGRkdHR0hISElJSUpKSktLS0xMTE1NTU5OTk9PT1BQUFFRUVJSUlNTU1RUVFVVVVZWVldXV1hYWFlZWVpaWltbW1xcXF1dXV5eXl9fX2BgYGFhYWJiYmNjY2RkZGVlZWZmZmdnZ2hoaGlpaWpqamtra2xsbG1tbW5ubm9vb3BwcHFxcXJycnNzc3R0dHV1dXZ2dnd3d3h4eHl5eXp6ent7e3x8fH19fX5+fn9/f4CAgIGBgYKCgoODg4SEhIWFhYaGhoeHh4iIiImJiYqKiouLi4yMjI2NjY6Ojo+Pj5CQkJGRkZKSkpOTk5SUlJWVlZaWlpeXl5iYmJmZmZqampubm5ycnJ2dnZ6enp+fn6CgoKGhoaKioqOjo6SkpKWlpaampqenp6ioqKmpqaqqqqurq6ysrK2tra6urq+vr7CwsLGxsbKysrOzs7S0tLW1tba2tre3t7i4uLm5ubq6uru7u7y8vL29vb6+vr+/v8DAwMHBwcLCwsPDw8TExMXFxcbGxsfHx8jIyMnJycrKysvLy8zMzM3Nzc7Ozs/Pz9DQ0NHR0dLS0tPT09TU1NXV1dbW1tfX19jY2NnZ2dra2tvb29zc3N3d3d7e3t/f3+Dg4OHh4eLi4uPj4+Tk5OXl5ebm5ufn5+jo6Onp6erq6uvr6+zs7O3t7e7u7u/v7/Dw8PHx8fLy8vPz8/T09PX19fb29vf39/j4+Pn5+fr6+vv7+/z8/P39/f7+/v///ywAAAAABQAHAAAIDAABCBxIsKDBgwcDAgA7',
  bmp9x4:
    'Qk2mAAAAAAAAADYAAAAoAAAACQAAAAQAAAABABgAAAAAAHAAAADEDgAAxA4AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==',
};
const image = (k: keyof typeof IMAGES) => new Uint8Array(Buffer.from(IMAGES[k], 'base64'));

describe('sniff', () => {
  it('images, with the size their header gives', () => {
    expect(sniff(corpus('wide-100000x1.png'))).toEqual({ kind: 'image', format: 'png', width: 100000, height: 1 });
    expect(sniff(corpus('tall-1x100000.png'))).toEqual({ kind: 'image', format: 'png', width: 1, height: 100000 });
    expect(sniff(corpus('image-named.bin'))).toEqual({ kind: 'image', format: 'png', width: 64, height: 48 });
    // stored 300×200, EXIF orientation 6 (a quarter turn): shown 200×300
    expect(sniff(image('jpeg300x200'))).toEqual({ kind: 'image', format: 'jpeg', width: 200, height: 300 });
    for (const k of ['webpLossy33x17', 'webpLossless33x17', 'webpAlpha33x17'] as const)
      expect(sniff(image(k))).toEqual({ kind: 'image', format: 'webp', width: 33, height: 17 });
    expect(sniff(image('gif5x7'))).toEqual({ kind: 'image', format: 'gif', width: 5, height: 7 });
    expect(sniff(image('bmp9x4'))).toEqual({ kind: 'image', format: 'bmp', width: 9, height: 4 });
  });
  it('a header cut short: the format without a size', () => {
    expect(sniff(image('jpeg300x200').subarray(0, 40))).toEqual({
      kind: 'image',
      format: 'jpeg',
      width: null,
      height: null,
    });
    expect(sniff(corpus('wide-100000x1.png').subarray(0, 12))).toEqual({
      kind: 'image',
      format: 'png',
      width: null,
      height: null,
    });
  });
  it('models, whatever they are called; a truncated one still goes to the model loader', () => {
    expect(sniff(corpus('model-named.png'))).toEqual({ kind: 'onnx' });
    expect(sniff(corpus('Mixed.ONNX'))).toEqual({ kind: 'onnx' });
    expect(sniff(corpus('det-classes.onnx').subarray(0, 4000))).toEqual({ kind: 'onnx' });
  });
  it('gzip, PyTorch zips and pickles, other zips', () => {
    expect(sniff(corpus('tiny-det.onnx.gz'))).toEqual({ kind: 'gzip' });
    expect(sniff(corpus('checkpoint.pt'))).toEqual({ kind: 'zip', pytorch: true });
    expect(sniff(corpus('weights.pkl'))).toEqual({ kind: 'pickle' });
    // a zip of one text file (stored, no data descriptor)
    const zip = new Uint8Array(30 + 5 + 2);
    const v = new DataView(zip.buffer);
    v.setUint32(0, 0x04034b50, true);
    v.setUint32(18, 2, true);
    v.setUint16(26, 5, true);
    zip.set(text('a.txt'), 30);
    expect(sniff(zip)).toEqual({ kind: 'zip', pytorch: false });
  });
  it('JSON (after a BOM and blanks), empty, and anything else', () => {
    expect(sniff(corpus('lonely.contract.json'))).toEqual({ kind: 'json' });
    expect(sniff(text('\uFEFF  \n[1]'))).toEqual({ kind: 'json' });
    expect(sniff(new Uint8Array(0))).toEqual({ kind: 'empty' });
    expect(sniff(text('not an image'))).toEqual({ kind: 'unknown' });
    expect(sniff(new Uint8Array([0x80, 0x09, 1]))).toEqual({ kind: 'unknown' });
  });
  it('formats dropped by mistake: TIFF (both byte orders), HEIC, PDF, SVG, HTML; AVIF and plain text are not named', () => {
    const bytes = (...b: number[]) => new Uint8Array([...b, ...new Array(64).fill(0)]);
    const foreign = (format: string) => ({ kind: 'foreign', format });
    expect(sniff(bytes(0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0))).toEqual(foreign('tiff'));
    expect(sniff(bytes(0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8))).toEqual(foreign('tiff'));
    expect(sniff(text('\0\0\0\x18ftypheic\0\0\0\0mif1heic'))).toEqual(foreign('heic'));
    expect(sniff(text('\0\0\0\x1cftypavif\0\0\0\0avifmif1'))).toEqual({ kind: 'unknown' });
    expect(sniff(text('%PDF-1.7\n%\xe2\xe3'))).toEqual(foreign('pdf'));
    expect(
      sniff(text('<?xml version="1.0"?>\n<!-- made by hand -->\n<svg xmlns="http://www.w3.org/2000/svg"/>')),
    ).toEqual(foreign('svg'));
    expect(sniff(text('<svg width="10">'))).toEqual(foreign('svg'));
    expect(sniff(text('  <!DOCTYPE html><html><body>Not Found</body></html>'))).toEqual(foreign('html'));
    expect(sniff(text('<HTML><HEAD><TITLE>404</TITLE>'))).toEqual(foreign('html'));
    expect(sniff(text('<p>a paragraph</p>'))).toEqual({ kind: 'unknown' });
  });
});

describe('jsonKind', () => {
  it('COCO, a contract sidecar, other JSON, not JSON', () => {
    expect(jsonKind(readFileSync(join(__dirname, '../../public/samples/coco.json'), 'utf8'))).toBe('coco');
    expect(jsonKind(new TextDecoder().decode(corpus('mixed.contract.json')))).toBe('contract');
    expect(jsonKind(new TextDecoder().decode(corpus('notes.json')))).toBe('other');
    expect(jsonKind('[1, 2]')).toBe('other');
    expect(jsonKind('{"images": ')).toBe('invalid');
  });
});

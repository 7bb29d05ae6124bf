import { describe, expect, it } from 'vitest';
import type { ResultsDocument } from '../evaluate/results';
import { escapeHtml, howComputed, isDataImage, type ReportInput, type ReportSection, reportHtml } from './report';

/** A 1×1 PNG. */
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const XSS = '<img src=x onerror=alert(1)>';

const section = (i: number, patch: Partial<ReportSection> = {}): ReportSection => ({
  title: `Finding ${i}`,
  text: `the student misses scratches at the belt edge (${i})`,
  scope: 'view',
  created: '2025-03-04T10:15:00.000Z',
  image: { name: `factory-test-00${i}.png`, width: 160, height: 160 },
  region: null,
  models: ['seg-teacher', 'seg-student-attnfd'],
  settings: 'score threshold each detector’s recommended · mask opacity 55 %',
  viewPng: PNG,
  numbers: [
    {
      text: 'mask mIoU of seg-student-attnfd against seg-teacher: 81.2 % (pixel agreement 97.0 %)',
      metric: 'mask_miou',
    },
  ],
  ...patch,
});

const input = (patch: Partial<ReportInput> = {}): ReportInput => ({
  created: '2025-03-04T11:00:00.000Z',
  appVersion: '0.1.0',
  models: [
    { id: 'seg-teacher', name: 'Teacher UNet', role: 'teacher', task: 'segmentation', bytes: 4_200_000 },
    { id: 'seg-student-attnfd', name: 'AttnFD student', role: 'student', task: 'segmentation', bytes: 900_000 },
  ],
  results: null,
  sections: [section(1)],
  ...patch,
});

const doc = {
  reference: 'seg-teacher',
  images: [{ id: 'a', name: 'a.png', width: 4, height: 4 }],
  settings: { iou: 0.5, bootstrap: { resamples: 1000, seed: 0 } },
  summary: [
    {
      model: 'seg-student-attnfd',
      against: 'seg-teacher',
      metric: 'mask_miou',
      n: 16,
      mean: 0.43,
      ci: [0.382, 0.479],
    },
    { model: 'seg-teacher', against: 'ground truth', metric: 'mask_miou', n: 0, mean: null, ci: null },
  ],
} as unknown as ResultsDocument;

/** Every src/href attribute value of the page. */
const urls = (html: string) => [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]*)/gi)].map((m) => m[1]);

describe('the report page', () => {
  it('escapes every user-supplied string: a finding, a file name and a model name read as text', () => {
    const html = reportHtml(
      input({
        models: [{ id: 'm', name: `<script>alert(1)</script>`, role: 'teacher', task: 'detection', bytes: null }],
        sections: [section(1, { text: XSS, image: { name: `"><svg onload=alert(1)>.png`, width: 2, height: 2 } })],
      }),
    );
    expect(html).not.toContain(XSS);
    expect(html).toContain(escapeHtml(XSS));
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<svg/i);
    // "onerror=" is in the text and in the alt attribute's quoted value, never an attribute of its own.
    expect(html).not.toMatch(/<\w+(?:\s+[\w-]+(?:=(?:"[^"]*"|[^\s"'>]*))?)*\s+on\w+=/i);
    expect(html).toContain('&quot;&gt;&lt;svg onload=alert(1)&gt;.png');
    // The one <img> is the data: picture.
    expect([...html.matchAll(/<img\b/g)]).toHaveLength(1);
  });

  it('links nothing outside itself: every src/href is a data: URL, no http(s) or protocol-relative address', () => {
    const html = reportHtml(input({ results: { doc, source: 'results.json' }, sections: [section(1), section(2)] }));
    const found = urls(html);
    expect(found.length).toBeGreaterThan(0);
    for (const u of found) {
      expect(u).toMatch(/^data:image\/png;base64,/);
      expect(u).not.toMatch(/^(https?:)?\/\//i);
    }
    expect(html).not.toMatch(/<script|<link|@import|url\(/i);
    expect(html).toMatch(/Content-Security-Policy" content="default-src 'none'; img-src data:/);
  });

  it('drops a picture that is not an inline PNG/JPEG rather than load it', () => {
    const html = reportHtml(
      input({
        sections: [
          section(1, { viewPng: 'https://example.com/x.png' }),
          section(2, { viewPng: 'data:text/html;base64,PHA+' }),
        ],
      }),
    );
    expect(urls(html)).toEqual([]);
    expect(isDataImage(PNG)).toBe(true);
    expect(isDataImage(`${PNG}"onerror="x`)).toBe(false);
  });

  it('has one section per finding, each with its text, image name, picture and numbers with how they are computed', () => {
    const html = reportHtml(input({ sections: [section(1), section(2), section(3)] }));
    const sections = html.split('<section class="finding"').slice(1);
    expect(sections).toHaveLength(3);
    sections.forEach((s, i) => {
      expect(s).toContain(`Finding ${i + 1}`);
      expect(s).toContain(`the student misses scratches at the belt edge (${i + 1})`);
      expect(s).toContain(`factory-test-00${i + 1}.png (160×160)`);
      expect(s).toContain(`src="${PNG}"`);
      expect(s).toContain('mask mIoU of seg-student-attnfd against seg-teacher: 81.2 %');
      expect(s).toContain(escapeHtml(howComputed('mask_miou')[0]));
      expect(s).toContain(escapeHtml(howComputed('mask_miou')[1]));
    });
  });

  it('has one section for the current view when there is no finding', () => {
    const html = reportHtml(input({ sections: [section(1, { title: 'The current view', text: null, scope: null })] }));
    expect(html.split('<section class="finding"')).toHaveLength(2);
    expect(html).toContain('The current view');
    expect(html).not.toContain('class="note"');
  });

  it('heads the page with the date, the app version and the models with their roles and sizes', () => {
    const html = reportHtml(input());
    expect(html).toContain('2025-03-04 11:00 UTC');
    expect(html).toContain('AttnLens 0.1.0');
    expect(html).toMatch(/seg-teacher<\/td><td>Teacher UNet<\/td><td>teacher<\/td><td>segmentation<\/td><td>4\.20 MB/);
    expect(html).toMatch(
      /seg-student-attnfd<\/td><td>AttnFD student<\/td><td>student<\/td><td>segmentation<\/td><td>900\.0 kB/,
    );
  });

  it('shows the data-set summary when there is a results document: mean, interval, n and how', () => {
    expect(reportHtml(input())).not.toContain('Data-set summary');
    const html = reportHtml(input({ results: { doc, source: 'results.json' } }));
    expect(html).toContain('Data-set summary');
    const rows = html.split('<tr data-metric=').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toContain('mask mIoU');
    expect(rows[0]).toContain('43.0 % [38.2, 47.9] over 16 images');
    expect(rows[0]).toContain('<td>38.2 % – 47.9 %</td><td>16</td>');
    expect(rows[0]).toContain('per class, the pixels both call it');
    expect(rows[1]).toContain('no image had anything to compare (n = 0)');
    expect(html).toContain('1000 resamples');
    expect(html).toContain('read from results.json');
  });

  it('prints to A4 portrait, keeps a finding on one page, and has no dark background', () => {
    const html = reportHtml(input());
    expect(html).toContain('@page { size: A4 portrait');
    expect(html).toMatch(/section\.finding \{[^}]*break-inside: avoid/);
    expect(html).toMatch(/@media print \{[^}]*background: #fff/);
    expect(html).not.toMatch(/background:\s*#(0|1|2)[0-9a-f]{2}\b/i);
  });

  it('explains every kind of number, and a row without one', () => {
    expect(howComputed('box_f1')[0]).toMatch(/^box F1 @ IoU 0\.5: .*IoU ≥ 0\.5/);
    expect(howComputed('mask_miou')).toHaveLength(2);
    expect(howComputed(null)[0]).toMatch(/different tasks/);
  });
});

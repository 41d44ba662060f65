import { describe, expect, it } from 'bun:test';
import { findCandidates, type WorkspaceDependencies } from '../../src/prewarm/candidates.ts';

const workspace: WorkspaceDependencies = {
  declared: {
    npm: [
      { name: 'zod', range: '^4.0.0' },
      { name: 'hono', range: '^4' },
    ],
    pypi: [{ name: 'pyyaml', range: '>=6' }],
    go: [{ name: 'github.com/spf13/cobra', range: 'v1.8.0' }],
  },
  present: { npm: new Set(['hono']), pypi: new Set(), go: new Set(['github.com/spf13/cobra']) },
};

describe('findCandidates', () => {
  it('marks a declared but absent package cold, with its declared range', () => {
    const found = findCandidates(
      [{ ecosystem: 'npm', name: 'zod', importedBy: ['b.ts', 'a.ts'] }],
      workspace,
    );
    expect(found).toEqual([
      { ecosystem: 'npm', name: 'zod', status: 'cold', range: '^4.0.0', importedBy: ['a.ts', 'b.ts'] },
    ]);
  });

  it('marks an imported but undeclared package missing', () => {
    const found = findCandidates([{ ecosystem: 'npm', name: 'lodash', importedBy: ['a.ts'] }], workspace);
    expect(found.map((c) => [c.name, c.status, c.range])).toEqual([['lodash', 'missing', undefined]]);
  });

  it('leaves out packages that are declared and present', () => {
    const found = findCandidates(
      [
        { ecosystem: 'npm', name: 'hono', importedBy: ['a.ts'] },
        { ecosystem: 'go', name: 'github.com/spf13/cobra', importedBy: ['main.go'] },
      ],
      workspace,
    );
    expect(found).toEqual([]);
  });

  it('matches Python distributions whatever their spelling, and reports the declared one', () => {
    const found = findCandidates([{ ecosystem: 'pypi', name: 'PyYAML', importedBy: ['app.py'] }], workspace);
    expect(found.map((c) => [c.name, c.status])).toEqual([['pyyaml', 'cold']]);
  });

  it('does not confuse a name declared in one ecosystem with another ecosystem', () => {
    const found = findCandidates([{ ecosystem: 'pypi', name: 'zod', importedBy: ['x.py'] }], workspace);
    expect(found.map((c) => c.status)).toEqual(['missing']);
  });
});

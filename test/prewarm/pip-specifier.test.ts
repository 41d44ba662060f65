import { describe, expect, it } from 'bun:test';
import { pinnedVersion, pipRequirement } from '../../src/prewarm/pip-specifier.ts';

describe('pipRequirement', () => {
  const cases: Array<[name: string, range: string, requirement: string | undefined]> = [
    ['requests', '', 'requests'],
    ['requests', '*', 'requests'],
    ['requests', '>=2.31', 'requests>=2.31'],
    ['requests', '>= 2.31, < 3', 'requests>=2.31,<3'],
    ['requests', '~=2.31', 'requests~=2.31'],
    ['requests', '==2.*', 'requests==2.*'],
    ['requests', '2.31.0', 'requests==2.31.0'],
    ['requests', '^2.31', 'requests>=2.31,<3'],
    ['requests', '^0.4.1', 'requests>=0.4.1,<0.5'],
    ['requests', '^0.0.3', 'requests>=0.0.3,<0.0.4'],
    ['requests', '~2.31.1', 'requests>=2.31.1,<2.32'],
    ['requests', '~2', 'requests>=2,<3'],
    ['zope.interface', '>=6', 'zope.interface>=6'],
    ['evil', 'git+https://example.com/evil', undefined],
    ['evil', './local/path', undefined],
    ['evil', '>=1; os_name == "nt"', undefined],
    ['-r', '', undefined],
    ['--index-url=http://x', '', undefined],
  ];
  for (const [name, range, requirement] of cases) {
    it(`${name} '${range}' -> ${requirement ?? 'refused'}`, () => {
      const result = pipRequirement(name, range);
      expect(result.ok ? result.requirement : undefined).toBe(requirement);
    });
  }
});

describe('pinnedVersion', () => {
  it('names the version of an exact pin only', () => {
    expect(pinnedVersion('demo==1.0')).toBe('1.0');
    expect(pinnedVersion('demo==1.*')).toBeUndefined();
    expect(pinnedVersion('demo>=1.0')).toBeUndefined();
    expect(pinnedVersion('demo')).toBeUndefined();
  });
});

import { describe, expect, it } from 'bun:test';
import { chooseUserconfig, isInside, npmPolicyArgs, npmPolicyEnv } from '../../src/prewarm/npm-policy.ts';

const same = (path: string) => path;

describe('chooseUserconfig', () => {
  const base = {
    env: {},
    home: '/home/me',
    workspace: '/home/me/app',
    emptyConfig: '/dev/null',
    realpath: same,
  };

  it("takes the user's ~/.npmrc by default", () => {
    expect(chooseUserconfig(base)).toEqual({ path: '/home/me/.npmrc' });
  });

  it('takes npm_config_userconfig in any case, as npm does', () => {
    expect(chooseUserconfig({ ...base, env: { NPM_CONFIG_USERCONFIG: '/etc/ci/npmrc' } })).toEqual({
      path: '/etc/ci/npmrc',
    });
  });

  it('takes --npmrc over both', () => {
    const env = { npm_config_userconfig: '/etc/ci/npmrc' };
    expect(chooseUserconfig({ ...base, env, npmrc: '/secure/npmrc' })).toEqual({ path: '/secure/npmrc' });
  });

  it('never takes a user config inside the synced folder, and says so', () => {
    const choice = chooseUserconfig({ ...base, workspace: '/home/me' });
    expect(choice.path).toBe('/dev/null');
    expect(choice.note).toContain('/home/me/.npmrc is inside the synced folder');
  });

  it('judges a link by where it leads', () => {
    const realpath = (path: string) => (path === '/home/me/.npmrc' ? '/home/me/app/.npmrc' : path);
    expect(chooseUserconfig({ ...base, realpath }).path).toBe('/dev/null');
  });
});

describe('isInside', () => {
  it.each([
    ['/w', '/w', true],
    ['/w/a/.npmrc', '/w', true],
    ['/wx/.npmrc', '/w', false],
    ['/.npmrc', '/w', false],
  ])('%s in %s: %p', (path, folder, expected) => {
    expect(isInside(path, folder)).toBe(expected);
  });
});

describe('npm policy', () => {
  it('turns scripts off and names the user config, as flags and as variables for nested npm runs', () => {
    const policy = { allowScripts: false, userconfig: '/home/me/.npmrc' };
    expect(npmPolicyArgs(policy)).toEqual(['--ignore-scripts', '--userconfig', '/home/me/.npmrc']);
    const env = npmPolicyEnv(policy, {
      PATH: '/bin',
      NPM_CONFIG_IGNORE_SCRIPTS: 'false',
      npm_config_userconfig: '/x',
    });
    expect(env).toEqual({
      PATH: '/bin',
      npm_config_ignore_scripts: 'true',
      npm_config_userconfig: '/home/me/.npmrc',
    });
  });

  it('adds nothing about scripts when they are allowed, so the user config still decides', () => {
    const policy = { allowScripts: true, userconfig: '/home/me/.npmrc' };
    expect(npmPolicyArgs(policy)).toEqual(['--userconfig', '/home/me/.npmrc']);
    expect(npmPolicyEnv(policy, { npm_config_ignore_scripts: 'true' }).npm_config_ignore_scripts).toBe(
      'true',
    );
  });
});

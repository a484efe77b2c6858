// Root reads every folder whatever its mode. Tests of "cannot read" run their process as root
// without the two capabilities that bypass file modes (setpriv, util-linux), so they work in a
// checkout that only root can enter, as CI's may be. Not root: the command as it is.
export function withoutDacBypass(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['setpriv', ['--bounding-set', '-dac_override,-dac_read_search', command, ...args]];
}

// the main class ran a container, the @MicroPodContainer test passed, and the guest image was
// unpacked from the micropod-guest jar into the empty home
def log = new File(basedir, 'build.log').text
assert log.contains('exit=0 output=consumer says hello')
assert log.contains('Tests run: 1, Failures: 0, Errors: 0')
def guest = new File(basedir, '../../it-home/guest')
assert guest.listFiles().any { new File(it, 'manifest.json').isFile() }

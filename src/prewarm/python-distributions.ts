/**
 * Maps Python import names to the distributions (PyPI projects) that provide them, for the common
 * cases where the two differ. Everything else is assumed to be published under its import name.
 */

/** Import name (top-level, or dotted for namespace packages) to distribution name. */
const DISTRIBUTION_BY_MODULE: Readonly<Record<string, string>> = {
  yaml: 'PyYAML',
  cv2: 'opencv-python',
  PIL: 'Pillow',
  sklearn: 'scikit-learn',
  skimage: 'scikit-image',
  bs4: 'beautifulsoup4',
  dateutil: 'python-dateutil',
  dotenv: 'python-dotenv',
  jwt: 'PyJWT',
  jose: 'python-jose',
  Crypto: 'pycryptodome',
  OpenSSL: 'pyOpenSSL',
  nacl: 'PyNaCl',
  serial: 'pyserial',
  usb: 'pyusb',
  magic: 'python-magic',
  docx: 'python-docx',
  pptx: 'python-pptx',
  git: 'GitPython',
  github: 'PyGithub',
  attr: 'attrs',
  dns: 'dnspython',
  MySQLdb: 'mysqlclient',
  fitz: 'PyMuPDF',
  gi: 'PyGObject',
  wx: 'wxPython',
  zmq: 'pyzmq',
  multipart: 'python-multipart',
  socketio: 'python-socketio',
  engineio: 'python-engineio',
  telegram: 'python-telegram-bot',
  slugify: 'python-slugify',
  pkg_resources: 'setuptools',
  win32api: 'pywin32',
  win32con: 'pywin32',
  pythoncom: 'pywin32',
  OpenGL: 'PyOpenGL',
  Bio: 'biopython',
  kafka: 'kafka-python',
  ldap: 'python-ldap',
  memcache: 'python-memcached',
  mpl_toolkits: 'matplotlib',
  pylab: 'matplotlib',
  faiss: 'faiss-cpu',
  Xlib: 'python-xlib',
  cairo: 'pycairo',
  snappy: 'python-snappy',
  grpc: 'grpcio',
  googleapiclient: 'google-api-python-client',
  'google.protobuf': 'protobuf',
  'ruamel.yaml': 'ruamel.yaml',
  pyximport: 'Cython',
  markdown: 'Markdown',
  psycopg2: 'psycopg2',
  sentry_sdk: 'sentry-sdk',
};

/**
 * The distribution that provides dotted module `module`: the longest dotted prefix found in the
 * table (so `google.protobuf.message` gives `protobuf`), else the top-level name itself.
 *
 * @example
 * distributionOf('yaml');       // 'PyYAML'
 * distributionOf('requests.x'); // 'requests'
 */
export function distributionOf(module: string): string {
  const parts = module.split('.');
  for (let length = parts.length; length > 0; length--) {
    const found = DISTRIBUTION_BY_MODULE[parts.slice(0, length).join('.')];
    if (found !== undefined) return found;
  }
  return parts[0] ?? module;
}

/**
 * A distribution name in PEP 503 normal form (lowercase, runs of `-`, `_`, `.` become one `-`),
 * the form in which two spellings of one project compare equal.
 *
 * @example
 * normalizeDistribution('Ruamel.YAML'); // 'ruamel-yaml'
 */
export function normalizeDistribution(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

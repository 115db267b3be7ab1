{
  # One addon, pymem.node: the C allocator core (native/*.c) and its node-addon-api binding.
  # `node-gyp rebuild --pymem_no_external_buffers=1` builds the variant for runtimes that forbid
  # external ArrayBuffers (as a V8 memory sandbox does); 'auto' then runs on the fallback.
  'variables': {
    'openssl_fips': '',
    'pymem_no_external_buffers%': 0
  },
  'targets': [
    {
      'target_name': 'pymem',
      'sources': [
        'native/os.c',
        'native/region.c',
        'native/segments.c',
        'native/tlsf.c',
        'native/raw.c',
        'native/binding.cc'
      ],
      'dependencies': [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api"
      ],
      'defines': [ 'NAPI_VERSION=8', 'NODE_ADDON_API_DISABLE_DEPRECATED' ],
      'cflags': [ '-Wall', '-Wextra', '-fvisibility=hidden' ],
      'cflags_c': [ '-std=c11' ],
      'cflags_cc': [ '-std=c++17' ],
      'xcode_settings': {
        'GCC_SYMBOLS_PRIVATE_EXTERN': 'YES',
        'MACOSX_DEPLOYMENT_TARGET': '10.15',
        'OTHER_CFLAGS': [ '-std=c11' ]
      },
      'conditions': [
        [ 'pymem_no_external_buffers==1', { 'defines': [ 'NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED' ] } ]
      ]
    }
  ]
}

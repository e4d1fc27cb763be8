/** Node 20 has no navigator: node/dawnGpu.ts installs one holding Dawn's GPU (kernels/ reads navigator.gpu). */
declare var navigator: Navigator;

/**
 * The rollout layer's public surface: where samples come from. One Sampler
 * interface with two implementations, the in-process engine (LocalSampler,
 * over model/'s generate) and an OpenAI-compatible server (RemoteSampler,
 * with its on-disk response cache), so training and evaluation do not care
 * which one answers.
 */
export { LocalSampler, type Sampler, type SamplerOptions, type SamplingRequest, type SampledResponse, type LocalSamplerOptions } from "./sampler.js";
export { RemoteSampler, RemoteSamplerError, chunkSeed, type RemoteApi, type RemoteSamplerOptions } from "./remote.js";
export { ResponseCache, ResponseCacheError, cacheKey, type CacheSettings } from "./remote-cache.js";

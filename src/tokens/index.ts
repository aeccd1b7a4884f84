export { countPromptTokens, countTextTokens, rawTextTokens, scaleTokenCount } from './count.js';
export type { CountMethod, PromptCount } from './count.js';
export { baseModelName, encodingForModel, loadEncoding } from './encodings.js';
export type { EncodingName, RawCounter } from './encodings.js';
export { DEFAULT_ESTIMATE_FACTOR, estimateFactor } from './estimate.js';
export { maxOutputTokens } from './limits.js';

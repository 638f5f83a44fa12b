// The public API: explicit named re-exports, grouped by concept.

// The model
export { LSTMLanguageModel } from './lstm/model.js';
export type { LSTMLanguageModelOptions, ForwardBackwardResult } from './lstm/model.js';
export type { ModelConfig } from './lstm/config.js';
export type { LSTMState, Tokens, TokenMatrix } from './lstm/inputs.js';
export { parameterLayout, parameterCount } from './lstm/parameters.js';
export type { Parameter, ParameterSpec, ModelLayout, LayerParams, GateParams } from './lstm/parameters.js';

// Backends: WebAssembly SIMD or plain TypeScript; threads (wasm): workers on a shared memory
export { preloadWasm, wasmSimdSupported } from './backend/wasm.js';
export { webWorkerFactory, resolveThreads } from './threads/pool.js';
export type { WorkerFactory, WorkerLike } from './threads/pool.js';
export type { BackendName } from './backend/storage.js';

// WebGPU: the GPU backend (docs/webgpu.md)
export { requestGpuDevice } from './webgpu/device.js';
export type { ParameterDevice, DeviceOptimizer } from './optim/params.js';

// Optimisation
export { clipGradNorm, clipGradValue } from './optim/clip.js';
export { SGD } from './optim/sgd.js';
export type { SGDOptions } from './optim/sgd.js';
export { Adam } from './optim/adam.js';
export type { AdamOptions, ResolvedAdamOptions } from './optim/adam.js';
export { AdamW } from './optim/adamw.js';
export { RMSprop } from './optim/rmsprop.js';
export type { RMSpropOptions } from './optim/rmsprop.js';
export type { OptimizerBase, OptimizerName, OptimizerStateDict } from './optim/optimizer.js';
export type { Trainable } from './optim/params.js';
export { constantLr, stepDecay, exponentialDecay, cosineWithWarmup, reduceOnPlateau, scheduledLr, scheduleFromJSON } from './optim/schedules.js';
export type {
  Schedule, ScheduleStep, ScheduleJSON, ScheduleUnit, ConstantLrOptions, StepDecayOptions, ExponentialDecayOptions,
  CosineWithWarmupOptions, ReduceOnPlateauOptions, ReduceOnPlateauState, PlateauSchedule,
} from './optim/schedules.js';

// Training, evaluation, prediction
export { train, trainEpoch, TrainingDivergedError } from './train/train.js';
export type { TrainOptions, TrainEpochOptions, EpochStats, StatePolicy, BatchSource, Optimizer } from './train/train.js';
export { perplexity, evaluate } from './train/evaluate.js';
export type { PerplexityOptions, EvaluateOptions, Evaluation } from './train/evaluate.js';
export { predict, predictText } from './train/predict.js';

// Asynchronous training: validation, callbacks, early stopping, best weights, exact resume
export { fit } from './train/fit.js';
export type {
  FitOptions, FitResult, StepInfo, EvalInfo, EpochInfo, StopReason, BestWeights, TrainingState, ResumableLoader,
} from './train/fit.js';
export { nextMacrotask } from './train/yield.js';
export { splitCorpus } from './data/split.js';
export type { SplitCorpusOptions, CorpusSplit } from './data/split.js';
export type { SeqEpochIterator } from './data/iterators.js';

// Generation: sampling (temperature, top-k, top-p, min-p, repetition penalty), stop strings, streaming
export { sampleToken } from './generate/sample.js';
export type { SampleOptions } from './generate/sample.js';
export { generate, generateStream, Generator, DEFAULT_MAX_TOKENS } from './generate/generate.js';
export type {
  GenerateOptions, GenerateSamplesOptions, StepOptions, GeneratorOptions, GeneratorState, GenerationModel,
  UnknownTokenPolicy,
} from './generate/generate.js';

// Checkpoints: one safetensors file (model, vocabulary, optimiser, training state); PyTorch interop
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_FORMAT, CHECKPOINT_FORMAT_VERSION } from './checkpoint/checkpoint.js';
export type {
  SaveCheckpointOptions, LoadCheckpointOptions, LoadedCheckpoint, CheckpointOptimizer, TrainingValue,
} from './checkpoint/checkpoint.js';
export { exportPyTorch, importPyTorch } from './checkpoint/pytorch.js';
export type { ExportPyTorchOptions, ImportPyTorchOptions, ImportedPyTorch } from './checkpoint/pytorch.js';
export { encodeSafetensors, decodeSafetensors, checkFinite, SAFETENSORS_DTYPES, MAX_HEADER_BYTES } from './checkpoint/safetensors.js';
export type {
  SafetensorsDtype, SafetensorsTensor, NamedSafetensorsTensor, DecodedSafetensors, SafetensorsLimits, SafetensorsArrays,
} from './checkpoint/safetensors.js';
export { CheckpointFormatError } from './checkpoint/errors.js';
export type { CheckpointFormatErrorCode, CheckpointFormatErrorLocation } from './checkpoint/errors.js';
export { VERSION } from './version.js';

export { tokenize, Vocab, preprocess, loadCorpus, seqDataIterSequential, seqDataIterRandom, SeqDataLoader } from './data/index.js';
export type {
  TokenType, VocabOptions, VocabJSON, LoadCorpusOptions, LoadedCorpus, TokenBatch, SeqBatch, SeqBatchIterator,
  SeqDataLoaderOptions,
} from './data/index.js';

// The seeded generator (the low-level kernels are in `lstm-lm/kernels`)
export { Random } from './tensor/random.js';
export type { RandomState } from './tensor/random.js';
export type { FloatArray } from './tensor/float-array.js';

// Original file: proto/agent.proto

import type { StartupCheck as _containerpub_agent_v1_StartupCheck, StartupCheck__Output as _containerpub_agent_v1_StartupCheck__Output } from '../../../containerpub/agent/v1/StartupCheck.js';
import type { Long } from '@grpc/proto-loader';

export interface BuildHeader {
  'functionId'?: (string);
  'version'?: (number);
  /**
   * sha256 of the artifact, hex; the agent checks it after receiving the last chunk.
   */
  'digest'?: (string);
  'sizeBytes'?: (number | string | Long);
  'timeoutMs'?: (number);
  /**
   * Set when this build makes a new version: the agent then starts it once, with these limits, its isolation
   * and this env, and imports its entry (the startup check). A module that throws while loading, or has no
   * default export with fetch, fails the build (`startup_failed`), its error in the build log. Unset for a
   * lazy build of a version that passed already.
   */
  'startupCheck'?: (_containerpub_agent_v1_StartupCheck | null);
}

export interface BuildHeader__Output {
  'functionId': (string);
  'version': (number);
  /**
   * sha256 of the artifact, hex; the agent checks it after receiving the last chunk.
   */
  'digest': (string);
  'sizeBytes': (number);
  'timeoutMs': (number);
  /**
   * Set when this build makes a new version: the agent then starts it once, with these limits, its isolation
   * and this env, and imports its entry (the startup check). A module that throws while loading, or has no
   * default export with fetch, fails the build (`startup_failed`), its error in the build log. Unset for a
   * lazy build of a version that passed already.
   */
  'startupCheck': (_containerpub_agent_v1_StartupCheck__Output | null);
}

// Original file: proto/agent.proto


export interface UndrainRequest {
}

export interface UndrainRequest__Output {
}

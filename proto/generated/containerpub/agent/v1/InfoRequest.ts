// Original file: proto/agent.proto


export interface InfoRequest {
}

export interface InfoRequest__Output {
}

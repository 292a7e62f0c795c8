# The notes' first recurrent network: a noisy sine cut into windows of `step` values, each
# predicting the value after it; SimpleRNN(32, relu) on (batch, 1, step) inputs, a ReLU dense
# layer, one output, mean squared error and RMSprop.  Only the imports name chainrule.keras; the
# notes hold the series in a pandas DataFrame, here a NumPy column (pandas is not installed).
import numpy as np
import matplotlib.pyplot as plt
from chainrule.keras import datasets, layers, models
from chainrule.keras.layers import Input
from chainrule.keras.models import Model, Sequential
from chainrule.keras.layers import Dense, SimpleRNN, LSTM, GRU
from chainrule.keras import optimizers
from chainrule.keras import regularizers
from chainrule.keras.utils import to_categorical


def convertToMatrix(data, step):
    X, Y = [], []
    for i in range(len(data) - step):
        d = i + step
        X.append(data[i:d, ])
        Y.append(data[d, ])
    return np.array(X), np.array(Y)


np.random.seed(0)
step = 4
N = 1000
Tp = 800
t = np.arange(0, N)
x = np.sin(0.02 * t) + 2 * np.random.rand(N)
values = x.reshape(-1, 1)                      # the DataFrame's .values
train, test = values[0:Tp, :], values[Tp:N, :]

test = np.append(test, np.repeat(test[-1, ], step))
train = np.append(train, np.repeat(train[-1, ], step))
trainX, trainY = convertToMatrix(train, step)
testX, testY = convertToMatrix(test, step)
trainX = np.reshape(trainX, (trainX.shape[0], 1, trainX.shape[1]))
testX = np.reshape(testX, (testX.shape[0], 1, testX.shape[1]))

epochs = 100
model = Sequential()
model.add(SimpleRNN(units=32, input_shape=(1, step), activation="relu"))
model.add(Dense(8, activation="relu"))
model.add(Dense(1))
model.compile(loss='mean_squared_error', optimizer='rmsprop')
model.summary()

model.fit(trainX, trainY, epochs=epochs, batch_size=16, verbose=2)
trainPredict = model.predict(trainX)
testPredict = model.predict(testX)
predicted = np.concatenate((trainPredict, testPredict), axis=0)

trainScore = model.evaluate(trainX, trainY, verbose=0)
print(trainScore)
testScore = model.evaluate(testX, testY, verbose=0)

index = np.arange(N)
plt.plot(index, values)
plt.plot(index, predicted[:N])
plt.axvline(index[Tp], c="r")
plt.show()

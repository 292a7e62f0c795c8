# The notes' PyTorch MNIST network: torchvision's datasets and transforms (ToTensor, Normalize
# with MNIST's mean and standard deviation), a DataLoader of 100 images, Flatten - Linear(784, 100)
# - sigmoid - Linear(100, 10) - softmax, Adam, 30 epochs, train and test accuracy after each.
# Only the imports name chainrule.torch (torchvision -> chainrule.torch.vision); Fashion-MNIST
# stands in where the MNIST files are absent (dataset_name below).
import numpy as np
import matplotlib.pyplot as plt
import chainrule.torch as torch
import chainrule.torch.nn as nn
import chainrule.torch.nn.functional as F
import chainrule.torch.optim as optim
from chainrule.torch.utils.data import DataLoader
from chainrule.torch.vision import datasets, transforms

data_root = '../data'
dataset_name = 'MNIST'
epochs = 30
batch_size = 100
train_limit = None

transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
Dataset = getattr(datasets, dataset_name)
train_data = Dataset(data_root, train=True, download=True, transform=transform)
test_data = Dataset(data_root, train=False, download=True, transform=transform)
if train_limit is not None:
    train_data = torch.utils.data.Subset(train_data, range(train_limit))
train_loader = DataLoader(train_data, batch_size=batch_size, shuffle=True)
test_loader = DataLoader(test_data, batch_size=batch_size, shuffle=False)


class Net(nn.Module):
    def __init__(self, nin, nh, nout):
        super(Net, self).__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(nin, nh)
        self.fc2 = nn.Linear(nh, nout)

    def forward(self, x):
        x = self.flatten(x)
        x = self.fc1(x)
        x = torch.sigmoid(x)
        x = self.fc2(x)
        x = F.softmax(x, dim=1)
        return x


torch.manual_seed(0)
nin = 28 * 28
nh = 100
nout = 10
model = Net(nin, nh, nout)
print(model)

criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)

train_accuracy_history = []
test_accuracy_history = []
for epoch in range(epochs):
    model.train()
    correct = 0
    total = 0
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        _, predicted = torch.max(output.data, 1)
        total += target.size(0)
        correct += (predicted == target).sum().item()
    train_accuracy = 100 * correct / total
    train_accuracy_history.append(train_accuracy)

    model.eval()
    correct = 0
    total = 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            _, predicted = torch.max(output.data, 1)
            total += target.size(0)
            correct += (predicted == target).sum().item()
    test_accuracy = 100 * correct / total
    test_accuracy_history.append(test_accuracy)
    print(f'Epoch {epoch+1}/{epochs}, Train Accuracy: {train_accuracy:.2f}%, Test Accuracy: {test_accuracy:.2f}%')

plt.plot(train_accuracy_history, label='Training Accuracy')
plt.plot(test_accuracy_history, label='Test Accuracy')
plt.xlabel('Epoch')
plt.ylabel('Accuracy (%)')
plt.legend()
plt.show()
